package org.mimtf.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.nn.Compute;
import org.mimtf.nn.VitConfig;
import org.mimtf.train.SessionConfigs;
import org.mimtf.train.StepGraph;
import org.mimtf.util.Json;
import org.tensorflow.Session;

/**
 * {@code bench step}: ms per training step (forward, backward, AdamW) of the masked-token-prediction
 * model, for the reference CPU configurations, with GFLOP/s and resident memory.
 */
public final class StepBench {
  /** A benchmark configuration. */
  public record Config(String name, int image, int patch, int width, int depth, int heads, int batch) {}

  public static final Config CPU_S = new Config("cpu-s", 32, 4, 192, 6, 3, 64);
  public static final Config CPU_M = new Config("cpu-m", 64, 8, 384, 6, 6, 32);

  private StepBench() {}

  public static Config named(String name) {
    return switch (name) {
      case "cpu-s" -> CPU_S;
      case "cpu-m" -> CPU_M;
      default -> throw new org.mimtf.util.UserException("unknown step configuration '" + name
          + "' (expected cpu-s or cpu-m)");
    };
  }

  /**
   * The benchmark's model, its one fixed batch (random pixels, exactly 40 % of the patches masked per
   * image, random target ids) and its training FLOPs per image.
   */
  public record Setup(MaskedTokenModel model, Batch batch, double flopsPerImage) {}

  /** Builds the model and batch of configuration {@code c}: the BEiT pre-training ViT. */
  public static Setup setup(Config c) {
    return setup(c, false);
  }

  /**
   * Builds the model and batch of configuration {@code c}. {@code peerModel}: the ViT of the PyTorch
   * peer (shared/peer/vit.py: learned absolute positions, one qkv bias, no relative position bias,
   * no layer scale), for a like-for-like comparison; otherwise BEiT's pre-training ViT (shared
   * relative position bias, q/v biases, layer scale 0.1), which has more element-wise work per block.
   */
  public static Setup setup(Config c, boolean peerModel) {
    VitConfig vit = peerModel
        ? new VitConfig(c.width(), c.depth(), c.heads(), 4 * c.width(), c.image(), c.patch(), 3,
            ModelConfig.AbsPosEmbedding.LEARNED, ModelConfig.RelPosBias.REL_NONE, ModelConfig.QkvBias.QKV_BIAS, 0f, 0f,
            1e-6f, ModelConfig.Init.BEIT, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f}, 0)
        : new VitConfig(c.width(), c.depth(), c.heads(), 4 * c.width(), c.image(), c.patch(), 3,
            ModelConfig.AbsPosEmbedding.ABS_NONE, ModelConfig.RelPosBias.SHARED, ModelConfig.QkvBias.QV_BIAS, 0.1f, 0f,
            1e-6f, ModelConfig.Init.BEIT, new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f}, 0);
    MaskedTokenModel model = new MaskedTokenModel(vit, 1024);
    int n = vit.numPatches();
    int masked = (int) Math.round(0.4 * n);
    Batch b = Batch.allocate(model.fields(), c.batch());
    SplittableRandom rng = new SplittableRandom(0);
    float[] img = b.floats("image");
    for (int i = 0; i < img.length; i++) {
      img[i] = (float) rng.nextDouble();
    }
    boolean[] mask = b.bools("mask");
    int[] targets = b.ints("targets");
    for (int i = 0; i < c.batch(); i++) {
      int[] perm = rng.ints(0, Integer.MAX_VALUE).limit(n).toArray();
      Integer[] order = new Integer[n];
      for (int j = 0; j < n; j++) {
        order[j] = j;
      }
      Arrays.sort(order, (x, y) -> Integer.compare(perm[x], perm[y]));
      for (int j = 0; j < masked; j++) {
        mask[i * n + order[j]] = true;
      }
      for (int j = 0; j < n; j++) {
        targets[i * n + j] = rng.nextInt(1024);
      }
    }
    return new Setup(model, b, model.trainFlopsPerImage((double) masked / n));
  }

  /** The benchmark's optimizer: AdamW with β₂ 0.98 and clipping at 3, as BEiT's recipes. */
  static OptimizerConfig optimizer() {
    return OptimizerConfig.newBuilder().setBeta2(0.98f).setClipGradNorm(3f).build();
  }

  /** The training graph's {@link Compute}: {@code precision}, and the fused LayerNorm if {@code training} asks. */
  static Compute trainingCompute(TrainingConfig training, Compute.Precision precision, java.util.List<String> devices) {
    return org.mimtf.train.Devices.compute(training.toBuilder()
        .setPrecision(TrainingConfig.Precision.valueOf(precision.name())).build(), devices);
  }

  /** Runs {@code warmup} + {@code steps} steps of the BEiT model; returns the JSON figures. */
  public static Json.Obj run(Config c, int warmup, int steps, TrainingConfig training, Compute.Precision precision,
      PrintStream out) {
    return run(c, false, warmup, steps, training, precision, "", out);
  }

  /** Runs {@code warmup} + {@code steps} steps; returns the JSON figures. */
  /**
   * As {@link #run(Config, int, int, TrainingConfig, Compute.Precision, PrintStream)}, with the peer's
   * model if {@code peerModel} and grappler toggles {@code rewriter} ({@link SessionConfigs#withRewriter}).
   */
  public static Json.Obj run(Config c, boolean peerModel, int warmup, int steps, TrainingConfig training,
      Compute.Precision precision, String rewriter, PrintStream out) {
    Setup setup = setup(c, peerModel);
    MaskedTokenModel model = setup.model();
    Batch b = setup.batch();
    double flopsPerImage = setup.flopsPerImage();
    double[] peakRuns = gemmPeakRuns(precision, 5);
    OptimizerConfig opt = optimizer();
    java.util.List<String> devices = org.mimtf.train.Devices.towers(training.getDevices());
    Compute compute = trainingCompute(training, precision, devices);
    try (StepGraph sg = new StepGraph(model, model.fields(), opt, compute, 1, 0, devices)) {
      try (Session s = new Session(sg.graph(),
          SessionConfigs.withRewriter(SessionConfigs.training(training, devices), rewriter))) {
        s.initialize();
        double[] ms = new double[steps];
        long rss100 = -1;
        double firstLoss = 0;
        double lastLoss = 0;
        for (int i = 0; i < warmup + steps; i++) {
          long t0 = System.nanoTime();
          Map<String, Double> v = sg.step(s, b, i, 1e-3, 0.05, Map.of(), 0, true, null, false);
          double dt = (System.nanoTime() - t0) / 1e6;
          if (i == 0) {
            firstLoss = v.get("loss");
          }
          lastLoss = v.get("loss");
          if (i >= warmup) {
            ms[i - warmup] = dt;
          }
          if (i + 1 == 100) {
            rss100 = rssKb();
          }
          if ((i + 1) % Math.max(1, (warmup + steps) / 10) == 0) {
            out.printf("%s step %d/%d: %.1f ms, loss %.4f%n", c.name(), i + 1, warmup + steps, dt, lastLoss);
          }
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = sorted[steps / 2];
        double ips = c.batch() * 1000.0 / median;
        double gflops = flopsPerImage * c.batch() / (median / 1000.0) / 1e9;
        long rssEnd = rssKb();
        // The peak: the median of 2048³ products before and after the steps (the machine's load drifts).
        double[] after = gemmPeakRuns(precision, 5);
        double[] all = java.util.stream.DoubleStream.concat(Arrays.stream(peakRuns), Arrays.stream(after)).sorted()
            .toArray();
        double peak = (all[all.length / 2 - 1] + all[all.length / 2]) / 2;
        out.printf("%s: median %.1f ms/step (min %.1f, max %.1f) = %.1f images/s, %.1f GFLOP/s of model FLOPs%n",
            c.name(), median, sorted[0], sorted[steps - 1], ips, gflops);
        out.printf("%s: GEMM peak %.1f GFLOP/s (median of %d 2048³ %s MatMuls, %.0f..%.0f), MFU %.1f %%%n", c.name(),
            peak, all.length, precision.name().toLowerCase(), all[0], all[all.length - 1], 100 * gflops / peak);
        return Json.obj().put("bench", "step").put("config", c.name()).put("batch", c.batch())
            .put("precision", precision.name().toLowerCase()).put("model", peerModel ? "peer" : "beit")
            .put("fused_layer_norm", compute.fusedLayerNorm()).put("fused_bias_gelu", compute.fusedBiasGelu()).put("onednn_batch_products", compute.oneDnnBatchProducts()).put("rewriter", rewriter).put("steps", steps).put("ms_per_step", median)
            .put("ms_min", sorted[0]).put("ms_max", sorted[steps - 1]).put("images_per_s", ips).put("gflops", gflops)
            .put("gflop_per_image", flopsPerImage / 1e9).put("loss_first", firstLoss).put("loss_last", lastLoss)
            .put("rss_mb_step100", rss100 < 0 ? null : rss100 / 1024.0).put("rss_mb_end", rssEnd / 1024.0)
            .put("peak_gflops", peak).put("mfu", gflops / peak).put("towers", Math.max(1, devices.size()))
            .put("xla", training.getXla()).put("intra_op_threads", training.getIntraOpThreads())
            .put("inter_op_threads", training.getInterOpThreads());
      }
    }
  }

  /**
   * The device's matmul throughput in GFLOP/s for {@code precision}: the median of 2048³ products in
   * TF on the default device — the denominator of model FLOP utilisation on a CPU, whose vendor peak
   * is not what TF's kernels reach.
   */
  public static double gemmPeak(Compute.Precision precision) {
    double[] t = gemmPeakRuns(precision, 7);
    return t[t.length / 2];
  }

  /** {@code runs} timed 2048³ products (after two untimed ones), in GFLOP/s, sorted. */
  public static double[] gemmPeakRuns(Compute.Precision precision, int runs) {
    int n = 2048;
    try (org.tensorflow.Graph g = new org.tensorflow.Graph()) {
      org.tensorflow.op.Ops tf = org.tensorflow.op.Ops.create(g);
      var a = tf.variable(tf.random.statelessRandomUniform(tf.constant(new int[] {n, n}), tf.constant(new long[] {1, 2}),
          org.tensorflow.types.TFloat32.class));
      var p = new Compute(precision).matMul(tf, tf.identity(a), tf.identity(a));
      var sum = tf.sum(p, tf.constant(new int[] {0, 1}));
      try (Session s = new Session(g)) {
        s.initialize();
        double[] gf = new double[runs];
        for (int i = 0; i < runs + 2; i++) {
          long t0 = System.nanoTime();
          s.runner().fetch(sum).run().close();
          if (i >= 2) {
            gf[i - 2] = 2.0 * n * n * n / ((System.nanoTime() - t0) / 1e9) / 1e9;
          }
        }
        Arrays.sort(gf);
        return gf;
      }
    }
  }

  /** Resident set size of this process in KiB (Linux /proc), or -1. */
  public static long rssKb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }
}
