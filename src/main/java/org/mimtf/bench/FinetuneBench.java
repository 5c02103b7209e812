package org.mimtf.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.finetune.EncoderLoader;
import org.mimtf.finetune.FinetuneRecipe;
import org.mimtf.finetune.Finetuner;
import org.mimtf.stages.Quickstart;
import org.mimtf.util.Files2;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;

/**
 * Does pre-training help? Fine-tunes METHOD's small recipe on the full Fashion-MNIST (60k / 10k) twice
 * with the identical fine-tuning recipe and budget: (a) from the method's pre-trained encoder
 * (default: the quickstart's export {@code savedmodels/<method>_fmnist_small/1}, made by running the
 * quickstart when it is missing) and (b) from random initialisation. Prints both top-1s and the gap; the last line is JSON.
 */
public final class FinetuneBench {
  private FinetuneBench() {}

  public static Json.Obj run(String method, Path graphs, Path data, Path encoder, int steps, List<String> extra,
      PrintStream out) {
    Path recipeFile = graphs.resolve(method + "_fmnist_small.pbtxt");
    if (!Files.exists(recipeFile)) {
      throw new UserException("no recipe " + recipeFile + " (methods: ccvit, beitv2, conmim, moca, smr)");
    }
    Path enc = encoder != null ? encoder : Path.of("savedmodels", method + "_fmnist_small", "1");
    Quickstart.Result made = null;
    if (!EncoderLoader.exists(enc)) {
      if (encoder != null) {
        throw new UserException("--encoder " + enc + " is not an encoder: expected an exported SavedModel "
            + "(saved_model.pb, or a folder of numbered versions), a run directory (checkpoints/) or a checkpoint prefix (PREFIX.index)");
      }
      // The default encoder is the quickstart's export: make it as the quickstart does (same recipe, same
      // stages), so a fresh checkout can run the benchmark in one command.
      out.println("== no pre-trained encoder at " + enc + ": running the " + method + " quickstart to make it");
      made = Quickstart.run(method, Quickstart.recipe(method, graphs, List.of()), graphs, out);
      enc = made.export();
    }
    Path runs = Path.of("runs", "bench_finetune", method);
    Json.Obj a = once(recipeFile, data, enc.toString(), steps, extra, runs.resolve("pretrained"), true, out);
    Json.Obj b = once(recipeFile, data, FinetuneRecipe.RANDOM_INIT, steps, extra, runs.resolve("scratch"), false, out);
    double pa = (Double) a.asMap().get("top1");
    double pb = (Double) b.asMap().get("top1");
    out.printf("fine-tune %s on Fashion-MNIST, %d steps: top-1 %.4f pre-trained (%s) vs %.4f from scratch "
        + "(gap %+.4f)%n", method, steps, pa, enc, pb, pa - pb);
    Json.Obj result = Json.obj().put("bench", "finetune").put("method", method).put("steps", steps)
        .put("encoder", enc.toString()).put("top1_pretrained", pa).put("top5_pretrained", a.asMap().get("top5"))
        .put("top1_scratch", pb).put("top5_scratch", b.asMap().get("top5")).put("gap", pa - pb)
        .put("best_top1_pretrained", a.asMap().get("best_top1")).put("best_top1_scratch", b.asMap().get("best_top1"))
        .put("seconds_pretrained", a.asMap().get("train_seconds")).put("seconds_scratch", b.asMap().get("train_seconds"))
        .put("classifier_export", a.asMap().get("classifier_export")).put("encoder_made", made != null);
    if (made != null) {
      result.put("pretrain_steps", made.steps()).put("pretrain_seconds", made.totalSeconds())
          .put("pretrain_knn_top1", made.pretrained().knnTop1())
          .put("pretrain_linear_top1", made.pretrained().linearTop1());
    }
    return result;
  }

  private static Json.Obj once(Path recipeFile, Path data, String encoder, int steps, List<String> extra, Path runDir,
      boolean export, PrintStream out) {
    try {
      Files2.deleteRecursively(runDir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> o = new ArrayList<>(List.of(
        "finetune.encoder=" + encoder,
        "finetune.data.source.path=" + data.resolve("train-images-idx3-ubyte.gz").toAbsolutePath(),
        "finetune.data.source.labels_path=" + data.resolve("train-labels-idx1-ubyte.gz").toAbsolutePath(),
        "finetune.test.path=" + data.resolve("t10k-images-idx3-ubyte.gz").toAbsolutePath(),
        "finetune.test.labels_path=" + data.resolve("t10k-labels-idx1-ubyte.gz").toAbsolutePath(),
        "finetune.training.steps=" + steps, "finetune.training.run_dir=" + runDir.toAbsolutePath()));
    o.addAll(extra);
    Recipe r = RecipeLoader.load(recipeFile, o);
    out.println("== fine-tuning from " + encoder + " (" + steps + " steps) -> " + runDir);
    return new Finetuner(r, out).export(export).run().json();
  }
}
