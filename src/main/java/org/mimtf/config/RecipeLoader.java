package org.mimtf.config;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.mimtf.api.InputPaths;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.config.proto.TeacherConfig;
import org.mimtf.methods.MethodRegistry;

/**
 * Reads a recipe: parse the pbtxt, apply {@code --set} overrides, resolve derived values and relative
 * paths, validate. The one entry point from a file to a {@link Recipe} a run can trust.
 *
 * <p>Relative input paths (data, teachers, tokenizers) are resolved against the recipe file's folder
 * when something exists there, else against the working directory, so a recipe in {@code graphs/} can
 * say {@code ../test-data/...} and still work when run from anywhere.
 */
public final class RecipeLoader {
  /** protobuf 3.21 reports unknown fields in one of these two shapes. */
  private static final Pattern NO_FIELD = Pattern.compile(
      "Message type \"([\\w.]+)\" has no field named \"(\\w+)\"|unknown fields and/or extensions:\\s*"
          + "(?:\\d+:\\d+:)?\\s*([\\w.]+)\\.(\\w+)");

  private RecipeLoader() {}

  /** Loads, overrides, resolves and validates {@code file}. */
  public static Recipe load(Path file, List<String> overrides) {
    Recipe.Builder b = read(file, new ArrayList<>());
    RecipeOverrides.apply(b, overrides);
    Path base = file.toAbsolutePath().getParent();
    Recipe resolved = RecipeResolver.resolve(resolvePaths(b.build(), base));
    List<String> problems = RecipeValidator.validate(resolved);
    if (!problems.isEmpty()) {
      throw new RecipeException(file.toString(), problems);
    }
    return resolved;
  }

  /**
   * Parses {@code file} and, when it names a {@code base_recipe}, refines that base with it
   * ({@link RecipeRefinement}). The base's relative input paths are resolved against its own folder
   * first, so a base and a refinement may live in different folders.
   */
  private static Recipe.Builder read(Path file, List<Path> chain) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new RecipeException(file.toString(), "no such recipe file");
    } catch (IOException e) {
      throw new RecipeException(file.toString(), "cannot read: " + e.getMessage());
    }
    Recipe.Builder b = parse(file.toString(), text);
    if (b.getBaseRecipe().isEmpty()) {
      return b;
    }
    Path self = file.toAbsolutePath().normalize();
    Path basePath = self.getParent().resolve(b.getBaseRecipe()).normalize();
    chain.add(self);
    if (chain.contains(basePath)) {
      throw new RecipeException(file + ": base_recipe", "\"" + b.getBaseRecipe() + "\" makes a cycle of base recipes ("
          + String.join(" -> ", chain.stream().map(Path::toString).toList()) + " -> " + basePath + ")");
    }
    if (!Files.isRegularFile(basePath)) {
      throw new RecipeException(file + ": base_recipe", "\"" + b.getBaseRecipe() + "\" resolves to " + basePath
          + ", which is not a recipe file (expected a path relative to " + self.getParent() + ")");
    }
    Recipe base = resolvePaths(read(basePath, chain).build(), basePath.getParent());
    Recipe.Builder merged = base.toBuilder();
    RecipeRefinement.refine(merged, b.clearBaseRecipe().build());
    return merged;
  }

  /** Parses recipe text; errors carry {@code source:line:column}. */
  public static Recipe.Builder parse(String source, String text) {
    Recipe.Builder b = Recipe.newBuilder();
    try {
      TextFormat.Parser.newBuilder().build().merge(text, b);
    } catch (TextFormat.ParseException e) {
      String where = e.getLine() >= 0 ? source + ":" + e.getLine() + ":" + e.getColumn() : source;
      throw new RecipeException(where, explain(RecipeOverrides.stripPosition(e.getMessage())));
    }
    return b;
  }

  /** Rewrites protobuf's "has no field named" into a message that suggests the closest field. */
  static String explain(String msg) {
    Matcher m = NO_FIELD.matcher(msg);
    if (!m.find()) {
      return msg;
    }
    String type = m.group(1) != null ? m.group(1) : m.group(3);
    String bad = m.group(2) != null ? m.group(2) : m.group(4);
    Descriptor d = findType(Recipe.getDescriptor(), type, new ArrayList<>());
    if (d == null) {
      return "unknown field \"" + bad + "\" in " + type;
    }
    String best = null;
    int bestDist = Integer.MAX_VALUE;
    List<String> names = new ArrayList<>();
    for (FieldDescriptor f : d.getFields()) {
      names.add(f.getName());
      int dist = editDistance(bad, f.getName());
      if (dist < bestDist) {
        bestDist = dist;
        best = f.getName();
      }
    }
    String hint = best != null && bestDist <= Math.max(2, bad.length() / 3) ? " (did you mean \"" + best + "\"?)" : "";
    return "unknown field \"" + bad + "\" in " + d.getName() + hint + "; expected one of: " + String.join(", ", names);
  }

  private static Descriptor findType(Descriptor d, String fullName, List<Descriptor> seen) {
    if (d.getFullName().equals(fullName)) {
      return d;
    }
    if (seen.contains(d)) {
      return null;
    }
    seen.add(d);
    for (FieldDescriptor f : d.getFields()) {
      if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
        Descriptor found = findType(f.getMessageType(), fullName, seen);
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }

  static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  // ---- relative paths -------------------------------------------------------------------------

  private static Recipe resolvePaths(Recipe r, Path base) {
    Recipe.Builder b = r.toBuilder();
    if (r.getData().hasSource()) {
      b.getDataBuilder().setSource(source(r.getData().getSource(), base));
    }
    if (r.getEval().hasTrain()) {
      b.getEvalBuilder().setTrain(source(r.getEval().getTrain(), base));
    }
    if (r.getEval().hasTest()) {
      b.getEvalBuilder().setTest(source(r.getEval().getTest(), base));
    }
    if (r.hasFinetune()) {
      b.setFinetune(org.mimtf.finetune.FinetuneRecipe.resolvePaths(r.getFinetune(), s -> source(s, base),
          s -> input(s, base)));
    }
    if (r.getMethodCase() != Recipe.MethodCase.METHOD_NOT_SET) {
      // a method's own inputs (tokenizer folder, teacher, tokenizer stage's data): its spec knows them
      MethodRegistry.spec(r).resolveInputs(b, new InputPaths() {
        @Override
        public String input(String path) {
          return RecipeLoader.input(path, base);
        }

        @Override
        public SourceConfig source(SourceConfig s) {
          return RecipeLoader.source(s, base);
        }

        @Override
        public TeacherConfig teacher(TeacherConfig t) {
          return RecipeLoader.teacher(t, base);
        }
      });
    }
    return b.build();
  }

  private static SourceConfig source(SourceConfig s, Path base) {
    SourceConfig.Builder b = s.toBuilder();
    if (!s.getPath().isEmpty()) {
      b.setPath(input(s.getPath(), base));
    }
    if (!s.getLabelsPath().isEmpty()) {
      b.setLabelsPath(input(s.getLabelsPath(), base));
    }
    return b.build();
  }

  private static TeacherConfig teacher(TeacherConfig t, Path base) {
    return t.getSavedModelDir().isEmpty() ? t : t.toBuilder().setSavedModelDir(input(t.getSavedModelDir(), base)).build();
  }

  /**
   * An input path: absolute stays; relative resolves against the recipe folder if it exists there or
   * its parent folder does (an artifact not yet produced), else against the working directory.
   */
  static String input(String path, Path base) {
    Path p = Path.of(path);
    if (p.isAbsolute() || base == null) {
      return path;
    }
    // Globs (TFRecord shards) are resolved on their folder part.
    Path candidate = base.resolve(p).normalize();
    Path existing = path.contains("*") ? candidate.getParent() : candidate;
    if (existing != null && Files.exists(existing)) {
      return candidate.toString();
    }
    Path cwd = Path.of("").toAbsolutePath().resolve(p).normalize();
    Path cwdExisting = path.contains("*") ? cwd.getParent() : cwd;
    if (cwdExisting != null && Files.exists(cwdExisting)) {
      return cwd.toString();
    }
    return candidate.toString();
  }
}
