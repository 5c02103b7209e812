package org.mimtf.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.mimtf.config.proto.Recipe;

/**
 * Every recipe shipped in {@code graphs/} loads and validates, and names the method its file name
 * starts with ({@code <method>_<dataset or model>.pbtxt}). The list is read from the directory, so a
 * new recipe is covered without touching this test.
 */
class RecipesInGraphsTest {
  static final Path GRAPHS = Path.of("graphs");

  static Stream<Path> recipes() throws IOException {
    try (Stream<Path> s = Files.list(GRAPHS)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".pbtxt")).sorted().toList().stream();
    }
  }

  @Test
  void graphsHoldRecipes() throws IOException {
    assertTrue(recipes().count() >= 10, "graphs/ should hold the shipped recipes");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("recipes")
  void loadsValidatesAndNamesItsMethod(Path file) {
    Recipe r = RecipeLoader.load(file, List.of());
    String stem = file.getFileName().toString().replaceFirst("\\.pbtxt$", "");
    String method = stem.substring(0, stem.indexOf('_') < 0 ? stem.length() : stem.indexOf('_'));
    assertFalse(r.getMethodCase() == Recipe.MethodCase.METHOD_NOT_SET, file + " names no method");
    assertEquals(method, r.getMethodCase().name().toLowerCase(),
        file + ": the file name says " + method + ", the recipe configures " + r.getMethodCase());
    assertEquals(stem, r.getName(), file + ": recipe name and file name differ");
    assertTrue(RecipeValidator.validate(r).isEmpty(), file + ": the loaded recipe does not validate again");
  }
}
