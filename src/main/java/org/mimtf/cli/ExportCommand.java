package org.mimtf.cli;

import java.nio.file.Path;
import org.mimtf.api.EncoderSpec;
import org.mimtf.config.proto.Recipe;
import org.mimtf.export.EncoderExporter;
import org.mimtf.export.Exports;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.train.Checkpoints;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mimtf export}: the pre-trained encoder of a run as a SavedModel. */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = "Export the recipe run's encoder (latest checkpoint, or random initialisation) as a SavedModel.")
final class ExportCommand implements Runnable {
  @Mixin RecipeOptions recipe;

  @Option(names = "--checkpoint", paramLabel = "PREFIX", description = "Checkpoint prefix (default: the run's latest).")
  Path checkpoint;

  @Option(names = "--random-init", description = "Export the initial weights (the random-init baseline).")
  boolean randomInit;

  @Option(names = "--out", paramLabel = "DIR", description = "Export folder (default export.dir/name/version).")
  Path out;

  @Option(names = "--merging", description = "SMR: export the encoder with its training-time token compression "
      + "kept (fast inference; default folder export.dir/<name>_merging/version) instead of the plain one.")
  boolean merging;

  @Override
  public void run() {
    Recipe r = recipe.load();
    EncoderSpec spec = MethodRegistry.encoderSpec(r);
    Path ckpt = null;
    if (!randomInit) {
      ckpt = checkpoint != null ? checkpoint : new Checkpoints(Path.of(r.getTraining().getRunDir())
          .resolve("checkpoints"), 1).latest().orElseThrow(() -> new UserException("no checkpoint in "
          + r.getTraining().getRunDir() + "/checkpoints: pre-train first, or pass --checkpoint or --random-init"));
    }
    if (merging && !r.hasSmr()) {
      throw new UserException("--merging exports SMR's token-merging encoder; this recipe's method is "
          + r.getMethodCase().name().toLowerCase());
    }
    Path dir = out != null ? out : merging ? org.mimtf.methods.smr.MergingExport.dir(r) : Exports.exportDir(r);
    if (merging) {
      org.mimtf.methods.smr.MergingExport.export(spec, org.mimtf.methods.smr.SmrMethod.compression(r.getSmr(),
          spec.config().depth()), ckpt, dir, Exports.extras(r, ckpt));
    } else {
      EncoderExporter.export(spec, ckpt, dir, Exports.extras(r, ckpt));
    }
    System.out.println("exported " + (ckpt == null ? "randomly initialised" : ckpt.getFileName().toString())
        + " encoder to " + dir);
    System.out.println(Json.obj().put("export_dir", dir.toString())
        .put("checkpoint", ckpt == null ? "random-init" : ckpt.toString()));
  }
}
