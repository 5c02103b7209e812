package org.mimtf.cli;

import java.nio.file.Path;
import org.mimtf.api.MimMethod;
import org.mimtf.config.proto.Recipe;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.train.Trainer;
import org.mimtf.util.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mimtf pretrain}: masked-image-modeling pre-training of the recipe's method, then export. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
    description = {"Pre-train the recipe's method; checkpoints, metrics.jsonl and TensorBoard events go to "
        + "training.run_dir, and the encoder is exported to export.dir/export.name/export.version.",
        "Ctrl-C writes a checkpoint and stops; --resume continues exactly."})
final class PretrainCommand implements Runnable {
  @Mixin RecipeOptions recipe;

  @Option(names = "--resume", description = "Continue from the run directory's latest checkpoint.")
  boolean resume;

  @Option(names = "--no-export", description = "Do not export the encoder at the end.")
  boolean noExport;

  @Option(names = "--log-placement",
      description = "Write where every op of the first step ran to <run_dir>/placement.txt (and a summary here).")
  boolean logPlacement;

  @Option(names = "--stop-after", paramLabel = "STEP", description = "Checkpoint and stop after this step.")
  long stopAfter = -1;

  @Override
  public void run() {
    Recipe r = recipe.load();
    MimMethod method = MethodRegistry.create(r);
    Trainer trainer = new Trainer(r, method, resume, System.out).logPlacement(logPlacement);
    if (stopAfter > 0) {
      trainer.stopAfter(stopAfter);
    }
    Trainer.Summary s = trainer.run();
    Path export = null;
    if (!noExport && !s.interrupted()) {
      export = MethodRegistry.exportRun(r, method.encoder(), s.lastCheckpoint(), System.out);
    }
    Json.Obj out = Json.obj().put("method", method.name()).put("run_dir", s.runDir().toString())
        .put("steps", s.step()).put("total_steps", s.totalSteps()).put("train_seconds", s.trainSeconds())
        .put("interrupted", s.interrupted())
        .put("checkpoint", s.lastCheckpoint() == null ? null : s.lastCheckpoint().toString())
        .put("export_dir", export == null ? null : export.toString());
    s.lastMetrics().forEach(out::put);
    if (logPlacement && java.nio.file.Files.exists(s.runDir().resolve("placement.txt"))) {
      try {
        for (String line : java.nio.file.Files.readAllLines(s.runDir().resolve("placement.txt"))) {
          if (line.isEmpty()) {
            break;
          }
          System.out.println("placement: " + line);
        }
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    System.out.println("TensorBoard: tensorboard --logdir " + s.runDir().resolve("events"));
    System.out.println(out);
  }
}
