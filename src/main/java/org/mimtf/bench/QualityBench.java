package org.mimtf.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
    return run(method, graphs, data, steps, extra, List.of(), List.of(), out);
  }

  /**
   * The benchmark with ablation variants and (SMR) the step-time comparison.
   *
   * @param variants {@code NAME:PATH=VALUE[;PATH=VALUE...]}: each is pre-trained and probed like the main
   *     run with these extra overrides (e.g. SMR's {@code rd:smr.reducer=RANDOM_DROPPING})
   * @param speed SMR only: {@link SmrSpeedBench} settings to time against BEiT v2 ({@code fmnist_small},
   *     {@code vit_b16})
   */
  public static Json.Obj run(String method, Path graphs, Path data, int steps, List<String> extra,
      List<String> variants, List<String> speed, PrintStream out) {
    long t0 = System.nanoTime();
    Path train = data.resolve("train-images-idx3-ubyte.gz");
    Path trainLabels = data.resolve("train-labels-idx1-ubyte.gz");
    Path test = data.resolve("t10k-images-idx3-ubyte.gz");
    Path testLabels = data.resolve("t10k-labels-idx1-ubyte.gz");
    String base = "runs/bench-quality-" + method + "-" + steps;
    List<String> o = new ArrayList<>(List.of(
        "data.source.path=" + train, "data.source.labels_path=" + trainLabels,
        "eval.train.path=" + train, "eval.train.labels_path=" + trainLabels,
        "eval.test.path=" + test, "eval.test.labels_path=" + testLabels,
        "training.steps=" + steps, "training.log_every_steps=50"));
    o.addAll(extra);
    Recipe r = load(graphs, method, o, base);
    Json.Obj teacherScores = null;
    if (r.hasSmr() && r.getSmr().getTarget() == org.mimtf.config.proto.SmrConfig.Target.TEACHER_FEATURES) {
      Path teacher = Path.of(r.getSmr().getTeacher().getSavedModelDir());
      if (!org.mimtf.teachers.CcvitTeacher.exists(teacher)) {
        out.println("SMR teacher " + teacher + " missing: making it from the small CCViT recipe (bundled subset)");
        org.mimtf.teachers.CcvitTeacher.make(graphs, teacher, base + "-teacher-run", out);
      }
      Evaluator.Scores ts = Evaluator.evaluate(r, teacher, true, true, out);
      teacherScores = Json.obj().put("saved_model", teacher.toString()).put("knn_top1", ts.knnTop1())
          .put("linear_top1", ts.linearTop1());
    }
    Run main = trainAndProbe(r, out);
    Path rnd = Path.of(r.getTraining().getRunDir(), "random-init", "1");
    EncoderExporter.export(main.method().encoder(), null, rnd, Exports.extras(r, null));
    Evaluator.Scores init = Evaluator.evaluate(r, rnd, true, true, out);
    double[] raw = rawPixels(train, trainLabels, test, testLabels, out);
    List<Object> curve = tokenAccuracyCurve(main.summary().runDir());
    Evaluator.Scores pre = main.scores();
    Json.Obj j = Json.obj().put("bench", "quality").put("method", method).put("steps", main.summary().step())
        .put("train_images", pre.trainImages()).put("test_images", pre.testImages())
        .put("feature", r.getEval().getFeature().name())
        .put("knn_top1", pre.knnTop1()).put("linear_top1", pre.linearTop1())
        .put("knn_top1_random_init", init.knnTop1()).put("linear_top1_random_init", init.linearTop1())
        .put("knn_top1_raw_pixels", raw[0]).put("linear_top1_raw_pixels", raw[1])
        .put("train_seconds", main.summary().trainSeconds()).putAll(main.timing())
        .put("metrics_curve", curve).put("run_dir", main.summary().runDir().toString());
    if (teacherScores != null) {
      j.put("teacher", teacherScores.asMap());
    }
    out.printf("%s after %d steps: k-NN %.2f%% (random init %.2f%%, raw pixels %.2f%%), linear %.2f%% (random init "
        + "%.2f%%, raw pixels %.2f%%)%n", method, main.summary().step(), 100 * pre.knnTop1(), 100 * init.knnTop1(),
        100 * raw[0], 100 * pre.linearTop1(), 100 * init.linearTop1(), 100 * raw[1]);
    if (!variants.isEmpty()) {
      Json.Obj vs = Json.obj();
      for (String v : variants) {
        int colon = v.indexOf(':');
        if (colon <= 0) {
          throw new org.mimtf.util.UserException("--variant " + v + ": expected NAME:PATH=VALUE[;PATH=VALUE...]");
        }
        String name = v.substring(0, colon);
        List<String> vo = new ArrayList<>(o);
        vo.addAll(List.of(v.substring(colon + 1).split(";")));
        Run run = trainAndProbe(load(graphs, method, vo, base + "-" + name), out);
        vs.put(name, Json.obj().put("overrides", v.substring(colon + 1)).put("knn_top1", run.scores().knnTop1())
            .put("linear_top1", run.scores().linearTop1()).put("train_seconds", run.summary().trainSeconds())
            .putAll(run.timing()).put("run_dir", run.summary().runDir().toString()).asMap());
        out.printf("%s variant %s: k-NN %.2f%%, linear %.2f%% (main run: %.2f%%, %.2f%%)%n", method, name,
            100 * run.scores().knnTop1(), 100 * run.scores().linearTop1(), 100 * pre.knnTop1(),
            100 * pre.linearTop1());
      }
      j.put("variants", vs.asMap());
    }
    if (!speed.isEmpty()) {
      List<Object> sp = new ArrayList<>();
      for (String name : speed) {
        SmrSpeedBench.Setting st = switch (name) {
          case "fmnist_small" -> SmrSpeedBench.FMNIST_SMALL;
          case "vit_b16" -> SmrSpeedBench.VIT_B16;
          default -> throw new org.mimtf.util.UserException("--speed " + name + ": expected fmnist_small or vit_b16");
        };
        boolean big = st == SmrSpeedBench.VIT_B16;
        sp.add(SmrSpeedBench.run(graphs, st, big ? 2 : 4, big ? 2 : 5, out).asMap());
      }
      j.put("speed_vs_beitv2", sp);
    }
    j.put("total_seconds", (System.nanoTime() - t0) / 1e9);
    return j;
  }

  /** A pre-training run and its probes. */
  record Run(MimMethod method, Trainer.Summary summary, Evaluator.Scores scores, Map<String, Double> timing) {}

  private static Recipe load(Path graphs, String method, List<String> o, String runDir) {
    List<String> all = new ArrayList<>(o);
    all.add("training.run_dir=" + runDir);
    all.add("export.dir=" + runDir + "/export");
    Recipe r = RecipeLoader.load(graphs.resolve(method + "_fmnist_small.pbtxt"), all);
    try {
      Files2.deleteRecursively(Path.of(r.getTraining().getRunDir()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return r;
  }

  private static Run trainAndProbe(Recipe r, PrintStream out) {
    if (r.hasCcvit()) {
      CentroidTokenizerBuilder.build(r, out);
    }
    MimMethod m = Methods.create(r);
    Trainer.Summary s = new Trainer(r, m, false, out).run();
    Path export = Exports.exportRun(r, m.encoder(), s.lastCheckpoint(), out);
    Evaluator.Scores pre = Evaluator.evaluate(r, export, true, true, out);
    return new Run(m, s, pre, meanTiming(s.runDir()));
  }

  /** Mean {@code step_ms} and {@code batch_models_ms} over the logged windows (the first, warm-up one left out). */
  static Map<String, Double> meanTiming(Path runDir) {
    Map<String, Double> out = new java.util.LinkedHashMap<>();
    try {
      List<String> lines = Files.readAllLines(runDir.resolve("metrics.jsonl"));
      for (String key : new String[] {"step_ms", "batch_models_ms"}) {
        double sum = 0;
        int count = 0;
        for (int i = 1; i < lines.size(); i++) {
          Double v = number(lines.get(i), key);
          if (v != null) {
            sum += v;
            count++;
          }
        }
        if (count > 0) {
          out.put(key, sum / count);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private static Double number(String line, String key) {
    int i = line.indexOf("\"" + key + "\":");
    if (i < 0) {
      return null;
    }
    int j = i + key.length() + 3;
    int k = j;
    while (k < line.length() && "0123456789.eE-+".indexOf(line.charAt(k)) >= 0) {
      k++;
    }
    return Double.parseDouble(line.substring(j, k));
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
        for (String key : new String[] {"step", "loss", "token_acc_masked", "token_acc_replaced", "recon_cosine"}) {
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
