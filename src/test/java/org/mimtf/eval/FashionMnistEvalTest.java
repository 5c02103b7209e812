package org.mimtf.eval;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Both evaluations on raw Fashion-MNIST pixels (60k train / 10k test, d = 784): a reference point
 * for the figures in the Javadoc. Slow (about half a minute on 2 cores), so it runs only with
 * {@code -Dmimtf.fashionMnist=true} and when the Debian data set is installed.
 */
@EnabledIfSystemProperty(named = "mimtf.fashionMnist", matches = "true")
class FashionMnistEvalTest {
  static float[] train;
  static int[] trainLabels;
  static float[] test;
  static int[] testLabels;

  @BeforeAll
  static void load() throws IOException {
    Assumptions.assumeTrue(Files.isDirectory(Idx.FASHION_MNIST), "no " + Idx.FASHION_MNIST);
    int n = Integer.getInteger("mimtf.fashionMnist.train", 60000);
    float[] allTrain = Idx.images(Idx.FASHION_MNIST.resolve("train-images-idx3-ubyte.gz"));
    int[] allTrainLabels = Idx.labels(Idx.FASHION_MNIST.resolve("train-labels-idx1-ubyte.gz"));
    train = java.util.Arrays.copyOf(allTrain, n * 784);
    trainLabels = java.util.Arrays.copyOf(allTrainLabels, n);
    test = Idx.images(Idx.FASHION_MNIST.resolve("t10k-images-idx3-ubyte.gz"));
    testLabels = Idx.labels(Idx.FASHION_MNIST.resolve("t10k-labels-idx1-ubyte.gz"));
  }

  @Test
  void knn() {
    long t0 = System.nanoTime();
    Knn.Result r = Knn.classify(train, trainLabels, test, testLabels, 784, 10);
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.printf("kNN k=20 T=0.07 on %d/%d: top1 %.4f top5 %.4f in %.1f s%n", trainLabels.length,
        testLabels.length, r.top1(), r.top5(), s);
    assertTrue(r.top1() > 0.83, "kNN top-1 " + r.top1());
  }

  @Test
  void linearProbe() {
    LinearProbe.Options o = LinearProbe.Options.defaults();
    long t0 = System.nanoTime();
    LinearProbe.Result r = LinearProbe.fit(train, trainLabels, test, testLabels, 784, 10, o);
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.printf("linear probe %s on %d/%d: test top1 %.4f train top1 %.4f train loss %.4f in %.1f s%n",
        o, trainLabels.length, testLabels.length, r.testTop1(), r.trainTop1(), r.trainLoss(), s);
    assertTrue(r.testTop1() > 0.82, "linear probe top-1 " + r.testTop1());
  }
}
