package org.mimtf.eval;

import com.google.common.collect.ImmutableList;
import java.io.PrintStream;
import java.nio.file.Path;
import org.mimtf.config.proto.EvalConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.util.Json;
import org.mimtf.util.Npy;
import org.mimtf.util.UserException;

/**
 * The two cheap probes of a pre-trained encoder on a labelled data set: DINO's weighted k-NN and a
 * linear classifier, both on frozen features of an exported encoder (the recipe's {@code eval}
 * section names the data and the feature).
 */
public final class Evaluator {
  /**
   * Accuracies, in [0, 1]; {@code linearWeightDecay} is the probe's λ (the chosen one when {@code
   * eval.linear_select_weight_decay} is on).
   */
  public record Scores(double knnTop1, double linearTop1, int trainImages, int testImages, int dim, double seconds,
      double linearWeightDecay) {
    public Json.Obj json(String prefix) {
      return Json.obj().put(prefix + "knn_top1", knnTop1).put(prefix + "linear_top1", linearTop1)
          .put(prefix + "linear_weight_decay", linearWeightDecay);
    }
  }

  private Evaluator() {}

  /** Runs the probes; {@code knn}/{@code linear} select which (a skipped one scores NaN). */
  public static Scores evaluate(Recipe r, Path savedModel, boolean knn, boolean linear, PrintStream out) {
    return evaluate(r, savedModel, knn, linear, null, out);
  }

  /**
   * {@link #evaluate(Recipe, Path, boolean, boolean, PrintStream)}, and when {@code dumpDir} is not
   * null the extracted features and labels written there first as float32 {@code .npy}
   * ({@code train_features.npy} [n, d], {@code train_labels.npy} [n], the same for {@code test_}), so
   * that another tool (numpy, scikit-learn) can check the probes on exactly the same features.
   */
  public static Scores evaluate(Recipe r, Path savedModel, boolean knn, boolean linear, Path dumpDir,
      PrintStream out) {
    EvalConfig e = r.getEval();
    if (!e.hasTrain() || !e.hasTest()) {
      throw new UserException("the recipe has no eval.train / eval.test data: add an eval section with both "
          + "(the labelled train set is the k-NN memory and the probe's training set)");
    }
    long t0 = System.nanoTime();
    FeatureExtractor.Features train;
    FeatureExtractor.Features test;
    try (FeatureExtractor fx = new FeatureExtractor(savedModel)) {
      int workers = r.getData().getWorkers();
      train = fx.extract(e.getTrain(), "eval.train", r.getModel(), e.getFeature(), e.getBatchSize(), workers);
      test = fx.extract(e.getTest(), "eval.test", r.getModel(), e.getFeature(), e.getBatchSize(), workers);
    }
    if (dumpDir != null) {
      dump(dumpDir, "train", train);
      dump(dumpDir, "test", test);
      out.println("features written to " + dumpDir);
    }
    out.printf("features (%s): %d train, %d test images, dim %d (%.1f s)%n", e.getFeature(), train.n(), test.n(),
        train.d(), (System.nanoTime() - t0) / 1e9);
    Scores s = probe(e, train, test, knn, linear, out);
    return new Scores(s.knnTop1(), s.linearTop1(), train.n(), test.n(), train.d(), (System.nanoTime() - t0) / 1e9,
        s.linearWeightDecay());
  }

  /**
   * The probes on features already extracted (or read back by {@link #load}); {@code knn}/{@code
   * linear} select which (a skipped one scores NaN). The linear probe is solved as {@code
   * e.linear_solver} says.
   */
  public static Scores probe(EvalConfig e, FeatureExtractor.Features train, FeatureExtractor.Features test,
      boolean knn, boolean linear, PrintStream out) {
    long t0 = System.nanoTime();
    int classes = Math.max(max(train.labels()), max(test.labels())) + 1;
    double knnTop1 = Double.NaN;
    double linTop1 = Double.NaN;
    float chosenDecay = e.getLinearWeightDecay();
    if (knn) {
      Knn.Result k = Knn.classify(train.values(), train.labels(), test.values(), test.labels(), train.d(), classes,
          e.getKnnK(), e.getKnnTemperature());
      knnTop1 = k.top1();
      out.printf("k-NN (k=%d, T=%.2f): top-1 %.2f%%%n", e.getKnnK(), e.getKnnTemperature(), 100 * knnTop1);
    }
    if (linear) {
      if (e.getLinearSolver() == EvalConfig.LinearSolver.LBFGS && e.getLinearSelectWeightDecay()) {
        long t1 = System.nanoTime();
        ImmutableList<Float> grid = e.getLinearWeightDecayGridCount() == 0 ? ProbeRegularization.DEFAULT_GRID
            : ImmutableList.copyOf(e.getLinearWeightDecayGridList());
        ProbeRegularization.Selection sel = ProbeRegularization.select(train.values(), train.labels(),
            test.values(), test.labels(), train.d(), classes, grid, e.getLinearValidationFraction(), 0,
            e.getLinearMaxIterations());
        linTop1 = sel.result().testTop1();
        chosenDecay = sel.weightDecay();
        StringBuilder curve = new StringBuilder();
        for (int k = 0; k < grid.size(); k++) {
          curve.append(String.format(" %.0e:%.2f", grid.get(k), 100 * sel.validationTop1()[k]));
        }
        out.printf("linear probe (L-BFGS, λ %.0e chosen on %d held-out train rows, %.1f s): top-1 %.2f%% (train "
            + "%.2f%%); validation top-1 per λ:%s%n", chosenDecay, sel.validationRows(), (System.nanoTime() - t1) / 1e9,
            100 * linTop1, 100 * sel.result().trainTop1(), curve);
      } else if (e.getLinearSolver() == EvalConfig.LinearSolver.LBFGS) {
        long t1 = System.nanoTime();
        LinearProbe.Result lp = LbfgsProbe.fit(train.values(), train.labels(), test.values(), test.labels(),
            train.d(), classes, new LbfgsProbe.Options(e.getLinearWeightDecay(), e.getLinearMaxIterations(),
                LbfgsProbe.Options.defaults().tolerance()));
        linTop1 = lp.testTop1();
        out.printf("linear probe (L-BFGS, %d iterations, %.1f s): top-1 %.2f%% (train %.2f%%)%n", lp.steps(),
            (System.nanoTime() - t1) / 1e9, 100 * linTop1, 100 * lp.trainTop1());
      } else {
        LinearProbe.Options base = new LinearProbe.Options(e.getLinearEpochs(), e.getLinearLr(),
            e.getLinearWeightDecay(), 256, 0);
        long stepsPerEpoch = Math.max(1, (train.n() + 255) / 256);
        int epochs = (int) Math.max(base.epochs(), (1000 + stepsPerEpoch - 1) / stepsPerEpoch);
        LinearProbe.Result lp = LinearProbe.fit(train.values(), train.labels(), test.values(), test.labels(),
            train.d(), classes, new LinearProbe.Options(epochs, base.lr(), base.weightDecay(), 256, 0));
        linTop1 = lp.testTop1();
        out.printf("linear probe (Adam, %d epochs): top-1 %.2f%% (train %.2f%%)%n", epochs, 100 * linTop1,
            100 * lp.trainTop1());
      }
    }
    // through its decimal form, so that 1e-4f prints as 1.0E-4 and not 9.999999747378752E-5
    return new Scores(knnTop1, linTop1, train.n(), test.n(), train.d(), (System.nanoTime() - t0) / 1e9,
        Double.parseDouble(Float.toString(chosenDecay)));
  }

  /** Features written by {@code --dump-features}: {@code split} is "train" or "test". */
  public static FeatureExtractor.Features load(Path dir, String split) {
    Npy.Array f = Npy.read(dir.resolve(split + "_features.npy"));
    Npy.Array l = Npy.read(dir.resolve(split + "_labels.npy"));
    if (f.shape().length != 2 || l.shape().length != 1 || l.shape()[0] != f.shape()[0]) {
      throw new UserException(dir + ": expected " + split + "_features.npy [n, d] and " + split
          + "_labels.npy [n], got " + java.util.Arrays.toString(f.shape()) + " and "
          + java.util.Arrays.toString(l.shape()));
    }
    int n = (int) f.shape()[0];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = Math.round(l.data()[i]);
    }
    return new FeatureExtractor.Features(f.data(), labels, n, (int) f.shape()[1]);
  }

  private static void dump(Path dir, String split, FeatureExtractor.Features f) {
    float[] labels = new float[f.n()];
    for (int i = 0; i < f.n(); i++) {
      labels[i] = f.labels()[i];
    }
    try {
      java.nio.file.Files.createDirectories(dir);
      Npy.write(dir.resolve(split + "_features.npy"), f.values(), f.n(), f.d());
      Npy.write(dir.resolve(split + "_labels.npy"), labels, f.n());
    } catch (java.io.IOException e) {
      throw new UserException("cannot write features to " + dir + ": " + e.getMessage());
    }
  }

  private static int max(int[] a) {
    int m = 0;
    for (int v : a) {
      m = Math.max(m, v);
    }
    return m;
  }
}
