package org.mimtf.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.util.Npy;

/**
 * Tiny versions of the bundled recipes for tests: the small Fashion-MNIST recipe shrunk to a 2-block,
 * 32-wide model and a few steps, with its run directory (and, for CCViT, a random 16-centroid
 * tokenizer) inside a temporary folder.
 */
public final class TinyRecipes {
  private TinyRecipes() {}

  public static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("graphs"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("cannot find the repository root (a folder with graphs/)");
    }
    return p;
  }

  /** The small CCViT recipe, shrunk; {@code extra} overrides are applied last. */
  public static Recipe ccvit(Path dir, int steps, String... extra) throws IOException {
    List<String> o = new ArrayList<>(List.of(
        "model.width=32", "model.depth=3", "model.num_heads=2", "ccvit.early_layers=2", "ccvit.pixel_head.depth=1",
        "ccvit.tokenizer.num_centroids=16", "training.batch_size=16", "training.steps=" + steps,
        "training.log_every_steps=1", "training.checkpoint_every_steps=100", "schedule.warmup_steps=2",
        "training.run_dir=" + dir.resolve("run"), "ccvit.tokenizer.dir=" + dir.resolve("tok"),
        "export.dir=" + dir.resolve("export"), "data.workers=2", "eval.batch_size=64"));
    o.addAll(List.of(extra));
    Recipe r = RecipeLoader.load(repoRoot().resolve("graphs/ccvit_fmnist_small.pbtxt"), o);
    writeRandomCentroids(dir.resolve("tok"), 16, 16, 5);
    return r;
  }

  /** The small ConMIM recipe, shrunk (width 32, depth 2, projector 32 → 16, batch 8); extras last. */
  public static Recipe conmim(Path dir, int steps, String... extra) {
    List<String> o = new ArrayList<>(List.of(
        "model.width=32", "model.depth=2", "model.num_heads=2", "conmim.projector.hidden_dim=32",
        "conmim.projector.output_dim=16", "training.batch_size=8", "training.steps=" + steps,
        "training.log_every_steps=1", "training.checkpoint_every_steps=100", "schedule.warmup_steps=2",
        "training.run_dir=" + dir.resolve("run"), "export.dir=" + dir.resolve("export"), "data.workers=2",
        "eval.batch_size=64"));
    o.addAll(List.of(extra));
    return RecipeLoader.load(repoRoot().resolve("graphs/conmim_fmnist_small.pbtxt"), o);
  }

  /**
   * The small MOCA recipe, shrunk (width 32, depth 3, K = 64), with the official codebook and teacher
   * settings the quickstart recipe departs from (temperature divisor 10, momentum ending at 1, random
   * start-up codebook, the EMA teacher exported), so the tests check the paper's method; {@code extra}
   * overrides are applied last.
   */
  public static Recipe moca(Path dir, int steps, String... extra) {
    List<String> o = new ArrayList<>(List.of(
        "moca.inv_delta=10", "moca.teacher_momentum_end=1", "moca.prefill_codebook=false",
        "moca.export_encoder=TEACHER", "model.width=32", "model.depth=3", "model.num_heads=2", "moca.early_layer=2", "moca.decoder.depth=1",
        "moca.decoder.width=32", "moca.decoder.num_heads=2", "moca.num_words=64", "moca.num_new_words=4",
        "training.batch_size=16", "training.steps=" + steps, "training.log_every_steps=1",
        "training.checkpoint_every_steps=100", "schedule.warmup_steps=2", "training.run_dir=" + dir.resolve("run"),
        "export.dir=" + dir.resolve("export"), "data.workers=2", "eval.batch_size=64"));
    o.addAll(List.of(extra));
    return RecipeLoader.load(repoRoot().resolve("graphs/moca_fmnist_small.pbtxt"), o);
  }

  /**
   * The small SMR recipe, shrunk (32 wide, 3 blocks, TM 12 in blocks 1-2: 50 -> 38 -> 26 tokens, a
   * 1-block decoder), with a random-init 16-wide ViT exported as its teacher into {@code dir/teacher/1}.
   */
  public static Recipe smr(Path dir, int steps, String... extra) throws IOException {
    Path teacher = dir.resolve("teacher/1");
    if (!Files.exists(teacher.resolve("saved_model.pb"))) {
      org.mimtf.nn.VitConfig t = new org.mimtf.nn.VitConfig(16, 1, 2, 32, 28, 4, 1,
          org.mimtf.config.proto.ModelConfig.AbsPosEmbedding.SINCOS_2D, org.mimtf.config.proto.ModelConfig.RelPosBias
              .REL_NONE, org.mimtf.config.proto.ModelConfig.QkvBias.QKV_BIAS, 0f, 0f, 1e-6f,
          org.mimtf.config.proto.ModelConfig.Init.MAE, null, null, 9);
      org.mimtf.export.EncoderExporter.export(new org.mimtf.api.EncoderSpec(t, "encoder"), null, teacher,
          java.util.Map.of());
    }
    List<String> o = new ArrayList<>(List.of(
        "model.width=32", "model.depth=3", "model.num_heads=2", "smr.decoder.depth=1", "smr.decoder.width=32",
        "smr.decoder.num_heads=2", "smr.teacher.saved_model_dir=" + teacher, "training.batch_size=16",
        "training.steps=" + steps, "training.log_every_steps=1", "training.checkpoint_every_steps=100",
        "schedule.warmup_steps=2", "training.run_dir=" + dir.resolve("run"), "export.dir=" + dir.resolve("export"),
        "data.workers=2", "eval.batch_size=64"));
    o.addAll(List.of(extra));
    return RecipeLoader.load(repoRoot().resolve("graphs/smr_fmnist_small.pbtxt"), o);
  }

  /** Random centroids in [0, 1], [k, d], as {@code mimtf tokenizer build} would write them. */
  public static void writeRandomCentroids(Path dir, int k, int d, long seed) throws IOException {
    Files.createDirectories(dir);
    SplittableRandom r = new SplittableRandom(seed);
    float[] c = new float[k * d];
    for (int i = 0; i < c.length; i++) {
      c[i] = (float) r.nextDouble();
    }
    Npy.write(dir.resolve("centroids.npy"), c, k, d);
  }

  /** The {@code loss} of every line of a run's metrics.jsonl, in order. */
  public static List<Double> losses(Path runDir) throws IOException {
    List<Double> out = new ArrayList<>();
    for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
      Double v = org.mimtf.util.Json.number(line, "loss");
      if (v != null) {
        out.add(v);
      }
    }
    return out;
  }
}
