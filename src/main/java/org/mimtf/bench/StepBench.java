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

  /** Runs {@code warmup} + {@code steps} steps; returns the JSON figures. */
  public static Json.Obj run(Config c, int warmup, int steps, TrainingConfig training, Compute.Precision precision,
      PrintStream out) {
    VitConfig vit = new VitConfig(c.width(), c.depth(), c.heads(), 4 * c.width(), c.image(), c.patch(), 3,
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
    double flopsPerImage = model.trainFlopsPerImage((double) masked / n);
    OptimizerConfig opt = OptimizerConfig.newBuilder().setBeta2(0.98f).setClipGradNorm(3f).build();
    java.util.List<String> devices = org.mimtf.train.Devices.towers(training.getDevices());
    try (StepGraph sg = new StepGraph(model, model.fields(), opt, new Compute(precision), 1, 0, devices)) {
      try (Session s = new Session(sg.graph(), SessionConfigs.training(training, devices))) {
        s.initialize();
        double[] ms = new double[steps];
        long rss100 = -1;
        double firstLoss = 0;
        double lastLoss = 0;
        for (int i = 0; i < warmup + steps; i++) {
          long t0 = System.nanoTime();
          Map<String, Double> v = sg.step(s, b, i, 1e-3, 0.05, Map.of(), 0, true, null);
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
        double peak = gemmPeak(precision);
        out.printf("%s: median %.1f ms/step (min %.1f, max %.1f) = %.1f images/s, %.1f GFLOP/s%n", c.name(), median,
            sorted[0], sorted[steps - 1], ips, gflops);
        return Json.obj().put("bench", "step").put("config", c.name()).put("batch", c.batch())
            .put("precision", precision.name().toLowerCase()).put("steps", steps).put("ms_per_step", median)
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
    int n = 2048;
    try (org.tensorflow.Graph g = new org.tensorflow.Graph()) {
      org.tensorflow.op.Ops tf = org.tensorflow.op.Ops.create(g);
      var a = tf.variable(tf.random.statelessRandomUniform(tf.constant(new int[] {n, n}), tf.constant(new long[] {1, 2}),
          org.tensorflow.types.TFloat32.class));
      var p = new Compute(precision).matMul(tf, tf.identity(a), tf.identity(a));
      var sum = tf.sum(p, tf.constant(new int[] {0, 1}));
      try (Session s = new Session(g)) {
        s.initialize();
        double[] t = new double[7];
        for (int i = 0; i < t.length + 2; i++) {
          long t0 = System.nanoTime();
          s.runner().fetch(sum).run().close();
          if (i >= 2) {
            t[i - 2] = (System.nanoTime() - t0) / 1e9;
          }
        }
        Arrays.sort(t);
        return 2.0 * n * n * n / t[t.length / 2] / 1e9;
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
