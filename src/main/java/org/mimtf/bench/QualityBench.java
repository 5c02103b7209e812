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
import org.mimtf.data.source.IdxSource;
import org.mimtf.eval.Evaluator;
import org.mimtf.eval.Knn;
import org.mimtf.eval.LinearProbe;
import org.mimtf.export.EncoderExporter;
import org.mimtf.export.Exports;
import org.mimtf.methods.MimMethod;
import org.mimtf.methods.Methods;
import org.mimtf.tokenizers.CentroidTokenizerBuilder;
import org.mimtf.train.Trainer;
import org.mimtf.util.Files2;
import org.mimtf.util.Json;

/**
 * {@code bench quality}: pre-trains a method's small recipe on the full Fashion-MNIST training set
 * (60k) for a fixed step budget, then scores k-NN and linear probes on the 10k test set for the
 * pre-trained encoder, the same architecture at random initialisation, and raw pixels.
 */
public final class QualityBench {
  private QualityBench() {}

  public static Json.Obj run(String method, Path graphs, Path data, int steps, List<String> extra, PrintStream out) {
    return run(method, graphs, data, steps, extra, true, out);
  }

  /**
   * One value per run of {@code sweepPath} (e.g. MOCA's λ ablation: {@code moca.img_loss_weight} 0, 0.5, 1):
   * the baselines (random init, raw pixels) come with the first run only.
   */
  public static Json.Obj sweep(String method, Path graphs, Path data, int steps, List<String> extra, String sweepPath,
      List<String> values, PrintStream out) {
    List<Object> runs = new ArrayList<>();
    for (int i = 0; i < values.size(); i++) {
      List<String> o = new ArrayList<>(extra);
      o.add(sweepPath + "=" + values.get(i));
      Json.Obj j = run(method, graphs, data, steps, o, i == 0, out);
      j.put("sweep_value", values.get(i));
      runs.add(j.asMap());
    }
    return Json.obj().put("bench", "quality-sweep").put("method", method).put("steps", steps)
        .put("sweep", sweepPath).put("runs", runs);
  }

  static Json.Obj run(String method, Path graphs, Path data, int steps, List<String> extra, boolean baselines,
      PrintStream out) {
    long t0 = System.nanoTime();
    Path train = data.resolve("train-images-idx3-ubyte.gz");
    Path trainLabels = data.resolve("train-labels-idx1-ubyte.gz");
    Path test = data.resolve("t10k-images-idx3-ubyte.gz");
    Path testLabels = data.resolve("t10k-labels-idx1-ubyte.gz");
    List<String> o = new ArrayList<>(List.of(
        "data.source.path=" + train, "data.source.labels_path=" + trainLabels,
        "eval.train.path=" + train, "eval.train.labels_path=" + trainLabels,
        "eval.test.path=" + test, "eval.test.labels_path=" + testLabels,
        "training.steps=" + steps, "training.run_dir=runs/bench-quality-" + method + "-" + steps,
        "export.dir=runs/bench-quality-" + method + "-" + steps + "/export", "training.log_every_steps=50"));
    if (!extra.isEmpty()) {
      // Different overrides, different run directories (a sweep must not overwrite its own runs).
      String tag = Integer.toHexString(String.join(",", extra).hashCode());
      String run = "runs/bench-quality-" + method + "-" + steps + "-" + tag;
      o.replaceAll(x -> x.startsWith("training.run_dir=") ? "training.run_dir=" + run
          : x.startsWith("export.dir=") ? "export.dir=" + run + "/export" : x);
    }
    o.addAll(extra);
    Recipe r = RecipeLoader.load(graphs.resolve(method + "_fmnist_small.pbtxt"), o);
    try {
      Files2.deleteRecursively(Path.of(r.getTraining().getRunDir()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (r.hasCcvit()) {
      CentroidTokenizerBuilder.build(r, out);
    }
    MimMethod m = Methods.create(r);
    Trainer.Summary s = new Trainer(r, m, false, out).run();
    Path export = Exports.exportRun(r, m.encoder(), s.lastCheckpoint(), out);
    Evaluator.Scores pre = Evaluator.evaluate(r, export, true, true, out);
    List<Object> curve = tokenAccuracyCurve(s.runDir());
    Json.Obj j = Json.obj().put("bench", "quality").put("method", method).put("steps", s.step())
        .put("overrides", String.join(" ", extra))
        .put("train_images", pre.trainImages()).put("test_images", pre.testImages())
        .put("feature", r.getEval().getFeature().name())
        .put("knn_top1", pre.knnTop1()).put("linear_top1", pre.linearTop1());
    if (!baselines) {
      out.printf("%s after %d steps (%s): k-NN %.2f%%, linear %.2f%%%n", method, s.step(), String.join(" ", extra),
          100 * pre.knnTop1(), 100 * pre.linearTop1());
      return j.put("train_seconds", s.trainSeconds()).put("total_seconds", (System.nanoTime() - t0) / 1e9)
          .put("metrics_curve", curve).put("run_dir", s.runDir().toString());
    }
    Path rnd = Path.of(r.getTraining().getRunDir(), "random-init", "1");
    EncoderExporter.export(m.encoder(), null, rnd, Exports.extras(r, null));
    Evaluator.Scores init = Evaluator.evaluate(r, rnd, true, true, out);
    double[] raw = rawPixels(train, trainLabels, test, testLabels, out);
    j.put("knn_top1_random_init", init.knnTop1()).put("linear_top1_random_init", init.linearTop1())
        .put("knn_top1_raw_pixels", raw[0]).put("linear_top1_raw_pixels", raw[1])
        .put("train_seconds", s.trainSeconds()).put("total_seconds", (System.nanoTime() - t0) / 1e9)
        .put("metrics_curve", curve).put("run_dir", s.runDir().toString());
    out.printf("%s after %d steps: k-NN %.2f%% (random init %.2f%%, raw pixels %.2f%%), linear %.2f%% (random init "
        + "%.2f%%, raw pixels %.2f%%)%n", method, s.step(), 100 * pre.knnTop1(), 100 * init.knnTop1(), 100 * raw[0],
        100 * pre.linearTop1(), 100 * init.linearTop1(), 100 * raw[1]);
    return j;
  }

  /** k-NN and linear top-1 on raw pixel vectors. */
  static double[] rawPixels(Path train, Path trainLabels, Path test, Path testLabels, PrintStream out) {
    try (IdxSource a = IdxSource.open(train, trainLabels, 10);
        IdxSource b = IdxSource.open(test, testLabels, 10)) {
      float[][] x = {new float[a.size() * 784], new float[b.size() * 784]};
      int[][] y = {new int[a.size()], new int[b.size()]};
      IdxSource[] src = {a, b};
      for (int s = 0; s < 2; s++) {
        for (int i = 0; i < src[s].size(); i++) {
          var rec = src[s].read(i);
          System.arraycopy(rec.pixels().data(), 0, x[s], i * 784, 784);
          y[s][i] = rec.label();
        }
      }
      double knn = Knn.classify(x[0], y[0], x[1], y[1], 784, 10).top1();
      double lin = LinearProbe.fit(x[0], y[0], x[1], y[1], 784, 10, LinearProbe.Options.forTrainSize(a.size()))
          .testTop1();
      out.printf("raw pixels: k-NN %.2f%%, linear %.2f%%%n", 100 * knn, 100 * lin);
      return new double[] {knn, lin};
    }
  }

  /** Step, loss and the accuracy metrics of every logged step (a curve for the note). */
  static List<Object> tokenAccuracyCurve(Path runDir) {
    List<Object> curve = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
        if (!line.contains("\"step\"") || line.contains("\"eval")) {
          continue;
        }
        Json.Obj o = Json.obj();
        for (String key : new String[] {"step", "loss", "token_acc_masked", "token_acc_replaced", "img_loss",
            "loc_loss", "mu", "teacher_entropy"}) {
          int i = line.indexOf("\"" + key + "\":");
          if (i >= 0) {
            int j = i + key.length() + 3;
            int k = j;
            while (k < line.length() && "0123456789.eE-+".indexOf(line.charAt(k)) >= 0) {
              k++;
            }
            o.put(key, Double.parseDouble(line.substring(j, k)));
          }
        }
        curve.add(o.asMap());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // keep ~10 points
    int stride = Math.max(1, curve.size() / 10);
    List<Object> thin = new ArrayList<>();
    for (int i = 0; i < curve.size(); i += stride) {
      thin.add(curve.get(i));
    }
    if (!curve.isEmpty() && thin.get(thin.size() - 1) != curve.get(curve.size() - 1)) {
      thin.add(curve.get(curve.size() - 1));
    }
    return thin;
  }
}
