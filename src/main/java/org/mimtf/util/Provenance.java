package org.mimtf.util;

import com.google.common.hash.Hashing;
import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.mimtf.config.proto.Recipe;

/**
 * Where a run or an export came from: the resolved recipe's hash, the code's git commit, the mimtf,
 * TF Java and native TensorFlow versions, and the JVM, OS and architecture (numerics differ across
 * platforms). Written next to checkpoints and into SavedModel assets; readers must tolerate fields
 * added later.
 */
public final class Provenance {
  private Provenance() {}

  public static Json.Obj of(Recipe recipe) {
    String text = TextFormat.printer().printToString(recipe);
    return Json.obj()
        .put("recipe_name", recipe.getName())
        .put("method", recipe.getMethodCase().name().toLowerCase())
        .put("recipe_sha256", Hashing.sha256().hashString(text, StandardCharsets.UTF_8).toString())
        .put("seed", recipe.getTraining().getSeed())
        .put("data_source", recipe.getData().getSource().getPath())
        .put("git_commit", gitCommit())
        .put("mimtf_version", version())
        .put("tensorflow_version", org.tensorflow.TensorFlow.version())
        .put("tf_java_version", "1.0.0")
        .put("java_version", System.getProperty("java.version"))
        .put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"))
        .put("arch", System.getProperty("os.arch"))
        .put("created", Instant.now().toString());
  }

  public static String version() {
    String v = Provenance.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-dev" : v;
  }

  /** The HEAD commit of the git checkout the code runs from, or "unknown". */
  public static String gitCommit() {
    try {
      Path dir = Path.of("").toAbsolutePath();
      while (dir != null && !Files.isDirectory(dir.resolve(".git"))) {
        dir = dir.getParent();
      }
      if (dir == null) {
        return "unknown";
      }
      Path git = dir.resolve(".git");
      String head = Files.readString(git.resolve("HEAD"), StandardCharsets.UTF_8).trim();
      if (head.startsWith("ref: ")) {
        Path ref = git.resolve(head.substring(5));
        if (Files.exists(ref)) {
          return Files.readString(ref, StandardCharsets.UTF_8).trim();
        }
        Path packed = git.resolve("packed-refs");
        if (Files.exists(packed)) {
          for (String line : Files.readAllLines(packed)) {
            if (line.endsWith(" " + head.substring(5))) {
              return line.substring(0, line.indexOf(' '));
            }
          }
        }
        return "unknown";
      }
      return head;
    } catch (IOException e) {
      return "unknown";
    }
  }
}
