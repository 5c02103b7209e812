package org.mimtf.eval;

import java.io.PrintStream;
import java.nio.file.Path;
import org.mimtf.config.proto.EvalConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;

/**
 * The two cheap probes of a pre-trained encoder on a labelled data set: DINO's weighted k-NN and a
 * linear classifier, both on frozen features of an exported encoder (the recipe's {@code eval}
 * section names the data and the feature).
 */
public final class Evaluator {
  /** Accuracies, in [0, 1]. */
  public record Scores(double knnTop1, double linearTop1, int trainImages, int testImages, int dim, double seconds) {
    public Json.Obj json(String prefix) {
      return Json.obj().put(prefix + "knn_top1", knnTop1).put(prefix + "linear_top1", linearTop1);
    }
  }

  private Evaluator() {}

  /** Runs the probes; {@code knn}/{@code linear} select which (a skipped one scores NaN). */
  public static Scores evaluate(Recipe r, Path savedModel, boolean knn, boolean linear, PrintStream out) {
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
    int classes = Math.max(max(train.labels()), max(test.labels())) + 1;
    out.printf("features (%s): %d train, %d test images, dim %d (%.1f s)%n", e.getFeature(), train.n(), test.n(),
        train.d(), (System.nanoTime() - t0) / 1e9);
    double knnTop1 = Double.NaN;
    double linTop1 = Double.NaN;
    if (knn) {
      Knn.Result k = Knn.classify(train.values(), train.labels(), test.values(), test.labels(), train.d(), classes,
          e.getKnnK(), e.getKnnTemperature());
      knnTop1 = k.top1();
      out.printf("k-NN (k=%d, T=%.2f): top-1 %.2f%%%n", e.getKnnK(), e.getKnnTemperature(), 100 * knnTop1);
    }
    if (linear) {
      LinearProbe.Options base = new LinearProbe.Options(e.getLinearEpochs(), e.getLinearLr(),
          e.getLinearWeightDecay(), 256, 0);
      long stepsPerEpoch = Math.max(1, (train.n() + 255) / 256);
      int epochs = (int) Math.max(base.epochs(), (1000 + stepsPerEpoch - 1) / stepsPerEpoch);
      LinearProbe.Result lp = LinearProbe.fit(train.values(), train.labels(), test.values(), test.labels(), train.d(),
          classes, new LinearProbe.Options(epochs, base.lr(), base.weightDecay(), 256, 0));
      linTop1 = lp.testTop1();
      out.printf("linear probe (%d epochs): top-1 %.2f%% (train %.2f%%)%n", epochs, 100 * linTop1, 100 * lp.trainTop1());
    }
    return new Scores(knnTop1, linTop1, train.n(), test.n(), train.d(), (System.nanoTime() - t0) / 1e9);
  }

  private static int max(int[] a) {
    int m = 0;
    for (int v : a) {
      m = Math.max(m, v);
    }
    return m;
  }
}
