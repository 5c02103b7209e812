package org.mimtf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;

/** The command line through {@link Mimtf#execute}: exit codes, stdout / stderr, the final JSON line. */
class CliTest {
  @TempDir Path dir;

  record Run(int code, String out, String err) {
    List<String> outLines() {
      return out.lines().filter(l -> !l.isBlank()).toList();
    }

    String lastLine() {
      List<String> l = outLines();
      return l.isEmpty() ? "" : l.get(l.size() - 1);
    }
  }

  static synchronized Run run(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      System.setOut(o);
      System.setErr(e);
      code = Mimtf.execute(args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  static void assertJsonObject(String line) {
    assertTrue(line.startsWith("{") && line.endsWith("}"), "not a JSON object line: " + line);
  }

  static void assertField(String json, String key, String value) {
    assertTrue(Pattern.compile("\"" + key + "\"\\s*:\\s*" + Pattern.quote(value)).matcher(json).find(),
        json + " lacks \"" + key + "\": " + value);
  }

  @Test
  void helpListsTheSubcommands() {
    Run r = run("--help");
    assertEquals(0, r.code(), r.err());
    for (String sub : List.of("recipe", "data", "tokenizer", "pretrain", "export", "bench", "help")) {
      assertTrue(Pattern.compile("(?m)^\\s+" + sub + "\\b").matcher(r.out()).find(),
          "--help does not list " + sub + ":\n" + r.out());
    }
    assertTrue(r.out().contains("Usage: mimtf"), r.out());
    assertEquals("", r.err());
  }

  @Test
  void noArgumentsPrintsUsage() {
    Run r = run();
    assertEquals(0, r.code());
    assertTrue(r.out().contains("Usage: mimtf"), r.out());
  }

  @Test
  void recipeShowPrintsTheResolvedRecipeAndEndsWithJson() throws Exception {
    Path file = Path.of("graphs/ccvit_fmnist_small.pbtxt");
    Run r = run("recipe", "show", file.toString(), "--set", "training.batch_size=32");
    assertEquals(0, r.code(), r.err());
    String json = r.lastLine();
    assertJsonObject(json);
    assertField(json, "name", "\"ccvit_fmnist_small\"");
    assertField(json, "method", "\"ccvit\"");
    assertField(json, "valid", "true");
    // everything before the JSON line is the resolved recipe in text format
    List<String> lines = r.outLines();
    String text = String.join("\n", lines.subList(0, lines.size() - 1));
    Recipe.Builder shown = Recipe.newBuilder();
    TextFormat.merge(text, shown);
    Recipe expected = RecipeLoader.load(file, List.of("training.batch_size=32"));
    assertEquals(expected, shown.build());
    assertEquals(32, shown.getTraining().getBatchSize());
    // resolved: derived values and absolute data paths are written out
    assertEquals(512, shown.getModel().getMlpDim());
    assertTrue(Path.of(shown.getData().getSource().getPath()).isAbsolute(), shown.getData().getSource().getPath());
  }

  @Test
  void anUnknownFieldExits2WithOneLineNamingFileLineAndColumn() throws IOException {
    Path file = dir.resolve("bad.pbtxt");
    Files.writeString(file, """
        name: "bad"
        model { size: CUSTOM width: 64 depth: 4 num_heads: 2 image_size: 28 patch_size: 4 channels: 1 }
        data { source { kind: IDX path: "train.gz" } }
        masking { block { num_masking_patches: 20 min_num_patches: 4 } }
        training { batch_size: 8 stepz: 10 }
        ccvit { num_replaced_patches: 5 early_layers: 3 tokenizer { num_centroids: 16 } }
        """);
    Run r = run("recipe", "show", file.toString());
    assertEquals(2, r.code(), r.err());
    String err = r.err().strip();
    assertFalse(err.contains("\n"), "more than one line:\n" + err);
    assertTrue(err.startsWith("mimtf: " + file + ":5:"), err);
    assertTrue(Pattern.compile(Pattern.quote(file.toString()) + ":5:\\d+: ").matcher(err).find(), err);
    assertTrue(err.contains("stepz") && err.contains("did you mean \"steps\""), err);
    assertFalse(err.contains("Exception") || err.contains("\tat "), "stack trace: " + err);
    assertEquals("", r.out());
  }

  @Test
  void debugAddsTheStackTrace() throws IOException {
    Path file = dir.resolve("bad.pbtxt");
    Files.writeString(file, "name: \"x\"\nnope: 1\n");
    Run r = run("--debug", "recipe", "show", file.toString());
    assertEquals(2, r.code());
    assertTrue(r.err().contains("RecipeException") && r.err().contains("\tat "), r.err());
  }

  @Test
  void recipeCheckOfAllShippedRecipesExits0() throws IOException {
    List<String> args = new ArrayList<>(List.of("recipe", "check"));
    try (Stream<Path> s = Files.list(Path.of("graphs"))) {
      s.filter(p -> p.toString().endsWith(".pbtxt")).sorted().forEach(p -> args.add(p.toString()));
    }
    int n = args.size() - 2;
    assertTrue(n >= 10);
    Run r = run(args.toArray(String[]::new));
    assertEquals(0, r.code(), r.out() + r.err());
    List<String> lines = r.outLines();
    assertEquals(n + 1, lines.size(), r.out());
    for (int i = 0; i < n; i++) {
      assertTrue(lines.get(i).startsWith("ok "), lines.get(i));
    }
    assertJsonObject(r.lastLine());
    assertField(r.lastLine(), "checked", String.valueOf(n));
    assertField(r.lastLine(), "failed", "0");
  }

  @Test
  void recipeCheckWithABadRecipeExits2AndReportsIt() throws IOException {
    Path bad = dir.resolve("bad.pbtxt");
    Files.writeString(bad, "name: \"x\"\n");
    Run r = run("recipe", "check", "graphs/ccvit_fmnist_small.pbtxt", bad.toString());
    assertEquals(2, r.code());
    assertTrue(r.out().contains("FAIL  " + bad), r.out());
    assertField(r.lastLine(), "failed", "1");
    assertTrue(r.err().contains("1 of 2 recipes are invalid"), r.err());
  }
}
