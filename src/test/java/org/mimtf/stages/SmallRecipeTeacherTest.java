package org.mimtf.stages;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.util.UserException;

/** Teachers made from a small recipe named by the teacher's folder. */
class SmallRecipeTeacherTest {
  @TempDir Path dir;

  @Test
  void theFolderNameChoosesTheRecipeAndTheExportLandsExactlyThere() throws Exception {
    Path graphs = Files.createDirectories(dir.resolve("graphs"));
    Files.writeString(graphs.resolve("moca_fmnist_small.pbtxt"),
        TextFormat.printer().printToString(TinyRecipes.moca(dir, 2)));
    Path teacher = dir.resolve("teachers/moca_fmnist_small/3");
    assertFalse(SmallRecipeTeacher.exists(teacher));
    assertEquals(graphs.resolve("moca_fmnist_small.pbtxt"), SmallRecipeTeacher.recipeFor(graphs, teacher));

    // the quickstart hands its precision on: the teacher trains in it
    Path made = SmallRecipeTeacher.make(graphs, teacher, dir.resolve("run").toString(),
        java.util.List.of("training.precision=BF16"), new PrintStream(new ByteArrayOutputStream()));
    assertEquals(teacher.toAbsolutePath().normalize(), made.toAbsolutePath().normalize());
    assertTrue(SmallRecipeTeacher.exists(teacher));
    assertTrue(Files.exists(dir.resolve("run/checkpoints")), "trained in the given run directory");
    String used = Files.readString(dir.resolve("run/recipe.pbtxt"));
    assertTrue(used.contains("precision: BF16"), used);
  }

  @Test
  void aTeacherNoRecipeCanMakeIsRefusedByName() throws Exception {
    Path graphs = Files.createDirectories(dir.resolve("graphs"));
    UserException noVersion = assertThrows(UserException.class,
        () -> SmallRecipeTeacher.recipeFor(graphs, dir.resolve("teachers/moca_fmnist_small")));
    assertTrue(noVersion.getMessage().contains("<recipe name>/<version>"), noVersion.getMessage());
    UserException noRecipe = assertThrows(UserException.class,
        () -> SmallRecipeTeacher.recipeFor(graphs, dir.resolve("teachers/clip_b16/1")));
    assertTrue(noRecipe.getMessage().contains(graphs.resolve("clip_b16.pbtxt").toString()), noRecipe.getMessage());
    // a recipe with a teacher of its own cannot be one (no chains of teachers)
    Files.writeString(graphs.resolve("smr_fmnist_small.pbtxt"),
        TextFormat.printer().printToString(TinyRecipes.smr(dir.resolve("smr"), 2)));
    UserException chained = assertThrows(UserException.class, () -> SmallRecipeTeacher.make(graphs,
        dir.resolve("teachers/smr_fmnist_small/1"), dir.resolve("run").toString(), System.out));
    assertTrue(chained.getMessage().contains("teacher of its own"), chained.getMessage());
  }
}
