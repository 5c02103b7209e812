package org.mimtf.stages;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.tokenizers.CentroidTokenizerBuilder;
import org.mimtf.util.UserException;

/**
 * A teacher made by mimtf itself: the export of one of the small recipes, whose {@code patch_tokens}
 * serve as per-patch targets where the full-scale recipes use CLIP (SMR's and BEiT v2's small
 * recipes, smr.md §11). Which recipe makes it is read from the export's folder name,
 * {@code <dir>/<recipe name>/<version>}: {@code savedmodels/moca_fmnist_small/1} is made by
 * {@code graphs/moca_fmnist_small.pbtxt}. Only recipes without a teacher of their own can make one
 * (CCViT with its k-means tokenizer, MOCA, ConMIM), so a chain of teachers cannot loop. A stage that
 * chains two runs, so it lives above the methods, beside the commands that ask for it.
 */
public final class SmallRecipeTeacher {
  private SmallRecipeTeacher() {}

  /** Whether {@code dir} holds a SavedModel. */
  public static boolean exists(Path dir) {
    return Files.exists(dir.resolve("saved_model.pb"));
  }

  /**
   * The recipe file that makes the teacher at {@code teacherDir}: {@code graphs/<name>.pbtxt} for a
   * {@code <dir>/<name>/<version>} folder; a user error when there is none or it needs a teacher itself.
   */
  public static Path recipeFor(Path graphs, Path teacherDir) {
    Path abs = teacherDir.toAbsolutePath().normalize();
    Path parent = abs.getParent();
    if (!abs.getFileName().toString().matches("\\d+") || parent == null) {
      throw new UserException("teacher " + teacherDir + " does not exist, and it is not a <dir>/<recipe name>/<version> "
          + "folder that mimtf could make from a small recipe; export a teacher there first");
    }
    Path file = graphs.resolve(parent.getFileName() + ".pbtxt");
    if (!Files.exists(file)) {
      throw new UserException("teacher " + teacherDir + " does not exist, and there is no recipe " + file
          + " to make it (the folder name names the recipe); export a teacher there first");
    }
    return file;
  }

  /**
   * Makes the teacher at {@code teacherDir} (a {@code <dir>/<name>/<version>} folder) from
   * {@code graphs/<name>.pbtxt}: its tokenizer stage if it has one, pre-training and export, training in
   * {@code runDir}.
   */
  public static Path make(Path graphs, Path teacherDir, String runDir, PrintStream out) {
    return make(graphs, teacherDir, runDir, List.of(), out);
  }

  /** {@link #make(Path, Path, String, PrintStream)} with {@code extra} recipe overrides (e.g. the precision). */
  public static Path make(Path graphs, Path teacherDir, String runDir, List<String> extra, PrintStream out) {
    Path file = recipeFor(graphs, teacherDir);
    Path abs = teacherDir.toAbsolutePath().normalize();
    List<String> o = new ArrayList<>(List.of("training.run_dir=" + runDir,
        "export.dir=" + abs.getParent().getParent(), "export.name=" + abs.getParent().getFileName(),
        "export.version=" + abs.getFileName()));
    o.addAll(extra);
    Recipe c = RecipeLoader.load(file, o);
    if (c.hasBeitv2() || c.hasSmr()) {
      throw new UserException("teacher " + teacherDir + ": " + file + " trains against a teacher of its own; make "
          + "teachers from a recipe that does not (ccvit, conmim, moca)");
    }
    if (c.hasCcvit()) {
      CentroidTokenizerBuilder.build(c, out);
    }
    return Pretraining.run(c, out).export();
  }
}
