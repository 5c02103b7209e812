package org.mimtf.stages;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.tokenizers.CentroidTokenizerBuilder;

/**
 * A teacher made by mimtf itself: the small CCViT recipe's encoder (k-means tokenizer, pre-training,
 * export), whose {@code patch_tokens} serve as per-patch targets where the full-scale recipes use CLIP
 * (SMR's and BEiT v2's small recipes, smr.md §11). A stage that chains two runs, so it lives above
 * the methods, beside the commands that ask for it.
 */
public final class CcvitTeacher {
  private CcvitTeacher() {}

  /** Whether {@code dir} holds a SavedModel. */
  public static boolean exists(Path dir) {
    return Files.exists(dir.resolve("saved_model.pb"));
  }

  /**
   * Makes the teacher at {@code teacherDir} (a {@code <dir>/<name>/<version>} folder) from
   * {@code graphs/ccvit_fmnist_small.pbtxt}, training in {@code runDir}.
   */
  public static Path make(Path graphs, Path teacherDir, String runDir, PrintStream out) {
    List<String> o = new ArrayList<>(List.of("training.run_dir=" + runDir));
    Path abs = teacherDir.toAbsolutePath().normalize();
    String version = abs.getFileName().toString();
    if (version.matches("\\d+") && abs.getParent() != null && abs.getParent().getParent() != null) {
      o.add("export.dir=" + abs.getParent().getParent());
      o.add("export.name=" + abs.getParent().getFileName());
      o.add("export.version=" + version);
    }
    Recipe c = RecipeLoader.load(graphs.resolve("ccvit_fmnist_small.pbtxt"), o);
    CentroidTokenizerBuilder.build(c, out);
    return Pretraining.run(c, out).export();
  }
}
