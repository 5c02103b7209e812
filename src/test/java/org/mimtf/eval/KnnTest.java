package org.mimtf.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KnnTest {
  /** Points on the unit circle at the given cosines to (1, 0), alternating above and below the axis. */
  private static float[] atCosines(double... cosines) {
    float[] out = new float[2 * cosines.length];
    for (int i = 0; i < cosines.length; i++) {
      out[2 * i] = (float) cosines[i];
      out[2 * i + 1] = (float) ((i % 2 == 0 ? 1 : -1) * Math.sqrt(1 - cosines[i] * cosines[i]));
    }
    return out;
  }

  @Test
  void clustersAreClassifiedByDirectionNotLength() {
    // Three classes along three directions in 3-D; lengths vary wildly, which cosine similarity ignores.
    SplittableRandom rng = new SplittableRandom(1);
    int perClass = 30;
    float[][] dirs = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    float[] train = new float[3 * perClass * 3];
    int[] trainLabels = new int[3 * perClass];
    float[] test = new float[3 * 5 * 3];
    int[] testLabels = new int[15];
    for (int c = 0; c < 3; c++) {
      for (int i = 0; i < perClass + 5; i++) {
        boolean isTrain = i < perClass;
        int row = isTrain ? c * perClass + i : c * 5 + (i - perClass);
        float[] dst = isTrain ? train : test;
        float scale = (float) Math.exp(rng.nextDouble(-3, 3));
        for (int j = 0; j < 3; j++) {
          dst[row * 3 + j] = scale * (dirs[c][j] + (float) rng.nextDouble(-0.2, 0.2));
        }
        (isTrain ? trainLabels : testLabels)[row] = c;
      }
    }
    Knn.Result r = Knn.classify(train, trainLabels, test, testLabels, 3, 3);
    assertEquals(1.0, r.top1());
    assertArrayEquals(testLabels, r.predictions());
    assertTrue(Double.isNaN(r.top5()), "top-5 is undefined for 3 classes");
  }

  @Test
  void temperatureWeightingOverrulesTheMajority() {
    // k = 5 neighbours of the query (1, 0): three of class 0 at similarity 0.80, two of class 1 at
    // 0.99. A plain vote says class 0 (3:2); DINO's weights exp(sim/0.07) say class 1, because
    // 2·e^(0.99/0.07) ≈ 10 · 3·e^(0.80/0.07). Two far points of class 2 are not among the 5.
    float[] train = concat(atCosines(0.80, 0.80, 0.80, 0.99, 0.99), atCosines(-0.5, -0.9));
    int[] trainLabels = {0, 0, 0, 1, 1, 2, 2};
    float[] query = {1, 0};

    Knn.Result weighted = Knn.classify(train, trainLabels, query, new int[] {1}, 2, 3, 5, 0.07f);
    assertEquals(1, weighted.predictions()[0]);
    assertEquals(1.0, weighted.top1());
    float[] s = weighted.scores();
    assertEquals(3 * Math.exp(0.80 / 0.07), s[0], 1e-4 * s[0]);
    assertEquals(2 * Math.exp(0.99 / 0.07), s[1], 1e-4 * s[1]);
    assertEquals(0f, s[2]);

    // With a huge temperature every weight is ~1: the majority wins again.
    Knn.Result flat = Knn.classify(train, trainLabels, query, new int[] {1}, 2, 3, 5, 1000f);
    assertEquals(0, flat.predictions()[0]);
    assertEquals(0.0, flat.top1());
  }

  @Test
  void tiedScoresGoToTheLowestClassId() {
    // Two neighbours at exactly the same similarity 0.8 (mirror images), labelled 2 and 1.
    float[] train = atCosines(0.8, 0.8, -1.0);
    float[] query = {1, 0};
    Knn.Result r = Knn.classify(train, new int[] {2, 1, 0}, query, new int[] {1}, 2, 3, 2, 0.07f);
    assertEquals(r.scores()[1], r.scores()[2]);
    assertEquals(1, r.predictions()[0]);
    Knn.Result swapped = Knn.classify(train, new int[] {1, 2, 0}, query, new int[] {1}, 2, 3, 2, 0.07f);
    assertEquals(1, swapped.predictions()[0]);
  }

  @Test
  void zeroRowsStayZeroAndAllClassesTieAtZeroSimilarity() {
    // A zero query has similarity 0 to everything: all k neighbours weigh e^0 = 1.
    float[] train = {1, 0, 0, 1, -1, 0};
    Knn.Result r = Knn.classify(train, new int[] {2, 0, 1}, new float[] {0, 0}, new int[] {0}, 2, 3, 3, 0.07f);
    assertArrayEquals(new float[] {1, 1, 1}, r.scores());
    assertEquals(0, r.predictions()[0]);
  }

  @Test
  void chunkingDoesNotChangeTheResult() {
    SplittableRandom rng = new SplittableRandom(7);
    int d = 24;
    int nTrain = 700;
    int nTest = 301;
    int classes = 6;
    float[] train = gaussian(rng, nTrain * d);
    float[] test = gaussian(rng, nTest * d);
    int[] trainLabels = labels(rng, nTrain, classes);
    int[] testLabels = labels(rng, nTest, classes);
    Knn.Result one = Knn.classify(train, trainLabels, test, testLabels, d, classes, 20, 0.07f, nTest);
    for (int chunk : new int[] {1, 7, 256, 5000}) {
      Knn.Result r = Knn.classify(train, trainLabels, test, testLabels, d, classes, 20, 0.07f, chunk);
      assertArrayEquals(one.predictions(), r.predictions(), "chunk " + chunk);
      // The matrix-product kernel depends on the chunk's shape (a single row is a GEMV), so scores
      // may differ in the last bit; the decisions may not.
      for (int i = 0; i < one.scores().length; i++) {
        assertEquals(one.scores()[i], r.scores()[i], 1e-5f * Math.max(1f, one.scores()[i]), "chunk " + chunk);
      }
      assertEquals(one.top1(), r.top1());
      assertEquals(one.top5(), r.top5());
    }
  }

  @Test
  void top5CountsTheTrueClassAmongTheFiveBestScores() {
    // Query (1, 0); one neighbour per class 0..5 at falling similarity, so the scores rank the
    // classes 0 > 1 > 2 > 3 > 4 > 5.
    float[] train = atCosines(0.99, 0.9, 0.8, 0.7, 0.6, 0.5);
    int[] trainLabels = {0, 1, 2, 3, 4, 5};
    float[] test = {1, 0, 1, 0, 1, 0};
    Knn.Result r = Knn.classify(train, trainLabels, test, new int[] {0, 4, 5}, 2, 6, 6, 0.07f);
    assertArrayEquals(new int[] {0, 0, 0}, r.predictions());
    assertEquals(1.0 / 3, r.top1(), 1e-12);
    assertEquals(2.0 / 3, r.top5(), 1e-12);
    // With k = 2, DINO ranks only the k voted classes: class 4 (score 0) is no top-5 hit, class 1 is.
    Knn.Result k2 = Knn.classify(train, trainLabels, test, new int[] {0, 1, 4}, 2, 6, 2, 0.07f);
    assertEquals(2.0 / 3, k2.top5(), 1e-12);
  }

  @Test
  void badArgumentsAreRejectedWithTheirValues() {
    float[] train = {1, 0, 0, 1};
    int[] labels = {0, 1};
    float[] test = {1, 0};
    int[] testLabels = {0};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Knn.classify(train, labels, test, testLabels, 2, 2, 3, 0.07f));
    assertTrue(e.getMessage().contains("[1, nTrain = 2]") && e.getMessage().contains("3"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Knn.classify(train, new int[] {0, 2}, test, testLabels, 2, 2, 1, 0.07f));
    assertTrue(e.getMessage().contains("train label 1 is 2"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Knn.classify(new float[] {1, 0, 0}, labels, test, testLabels, 2, 2, 1, 0.07f));
    assertTrue(e.getMessage().contains("3 values, not a multiple of d = 2"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Knn.classify(train, labels, test, testLabels, 2, 2, 1, 0f));
    assertTrue(e.getMessage().contains("temperature"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Knn.classify(train, labels, new float[] {Float.NaN, 0}, testLabels, 2, 2, 1, 0.07f));
    assertTrue(e.getMessage().contains("test feature [0, 0] is NaN"), e.getMessage());
  }

  static float[] gaussian(SplittableRandom rng, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      // Box-Muller: SplittableRandom has no nextGaussian in Java 17.
      x[i] = (float) (Math.sqrt(-2 * Math.log(1 - rng.nextDouble())) * Math.cos(2 * Math.PI * rng.nextDouble()));
    }
    return x;
  }

  static int[] labels(SplittableRandom rng, int n, int classes) {
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = rng.nextInt(classes);
    }
    return y;
  }

  static float[] concat(float[] a, float[] b) {
    float[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
