package org.mimtf.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LinearProbeTest {
  /** Gaussian blobs: class c centred at {@code centres[c]}, unit noise times {@code noise}. */
  private record Blobs(float[] x, int[] y) {
    static Blobs of(SplittableRandom rng, float[][] centres, int perClass, double noise) {
      int d = centres[0].length;
      int n = centres.length * perClass;
      float[] x = new float[n * d];
      int[] y = new int[n];
      float[] z = KnnTest.gaussian(rng, n * d);
      for (int i = 0; i < n; i++) {
        int c = i % centres.length;
        y[i] = c;
        for (int j = 0; j < d; j++) {
          x[i * d + j] = centres[c][j] + (float) noise * z[i * d + j];
        }
      }
      return new Blobs(x, y);
    }
  }

  private static final LinearProbe.Options FAST = new LinearProbe.Options(20, 1e-2f, 1e-4f, 32, 3L);

  @Test
  void separatesLinearlySeparableClassesCompletely() {
    SplittableRandom rng = new SplittableRandom(11);
    // Three classes, 5-D, offset and scaled differently per dimension (standardisation copes).
    float[][] centres = {{4, 0, 0, 100, -3}, {0, 4, 0, 100, -3}, {0, 0, 4, 100, -3}};
    Blobs train = Blobs.of(rng, centres, 60, 0.5);
    Blobs test = Blobs.of(rng, centres, 20, 0.5);
    LinearProbe.Result r = LinearProbe.fit(train.x(), train.y(), test.x(), test.y(), 5, 3, FAST);
    assertEquals(1.0, r.trainTop1());
    assertEquals(1.0, r.testTop1());
    assertArrayEquals(test.y(), r.testPredictions());
    assertTrue(r.trainLoss() < 0.3, "train loss " + r.trainLoss());
    assertEquals(20 * 6, r.steps()); // 180 rows: 5 batches of 32 and one of 20 per epoch
  }

  @Test
  void learnsTheBayesDecisionOnOverlappingClasses() {
    // Two 1-D Gaussians at ±1 with σ = 1.5 plus 3 pure-noise dimensions. The best possible accuracy
    // is Φ(1/1.5) = 74.8%; a probe that fits the noise or the wrong sign would fall well short.
    SplittableRandom rng = new SplittableRandom(5);
    float[][] centres = {{-1, 0, 0, 0}, {1, 0, 0, 0}};
    Blobs train = Blobs.of(rng, centres, 2000, 1.5);
    Blobs test = Blobs.of(rng, centres, 2000, 1.5);
    LinearProbe.Result r = LinearProbe.fit(train.x(), train.y(), test.x(), test.y(), 4, 2,
        LinearProbe.Options.forTrainSize(4000));
    assertEquals(0.748, r.testTop1(), 0.02);
  }

  @Test
  void predictsTheMajorityClassWhenFeaturesCarryNoSignal() {
    // 80% of the labels are class 1 and the features are noise: the better of the two classes to
    // predict is always class 1.
    SplittableRandom rng = new SplittableRandom(9);
    int n = 2000;
    int d = 8;
    float[] x = KnnTest.gaussian(rng, n * d);
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = rng.nextDouble() < 0.8 ? 1 : 0;
    }
    float[] xt = KnnTest.gaussian(rng, 500 * d);
    int[] yt = new int[500];
    java.util.Arrays.fill(yt, 1);
    LinearProbe.Result r = LinearProbe.fit(x, y, xt, yt, d, 2, LinearProbe.Options.forTrainSize(n));
    assertTrue(r.testTop1() > 0.95, "test top-1 " + r.testTop1());
    // Cross-entropy of predicting the base rate: −(0.8 ln 0.8 + 0.2 ln 0.2) = 0.500.
    assertEquals(0.50, r.trainLoss(), 0.03);
  }

  @Test
  void isDeterministicForASeed() {
    SplittableRandom rng = new SplittableRandom(2);
    float[][] centres = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}};
    Blobs train = Blobs.of(rng, centres, 100, 1.0);
    Blobs test = Blobs.of(rng, centres, 50, 1.0);
    LinearProbe.Result a = LinearProbe.fit(train.x(), train.y(), test.x(), test.y(), 3, 4, FAST);
    LinearProbe.Result b = LinearProbe.fit(train.x(), train.y(), test.x(), test.y(), 3, 4, FAST);
    assertEquals(a.trainLoss(), b.trainLoss());
    assertEquals(a.testTop1(), b.testTop1());
    assertArrayEquals(a.testPredictions(), b.testPredictions());
    LinearProbe.Result c = LinearProbe.fit(train.x(), train.y(), test.x(), test.y(), 3, 4, FAST.withSeed(4));
    assertNotEquals(a.trainLoss(), c.trainLoss(), "another shuffle order ends at other weights");
  }

  @Test
  void standardisesWithTrainStatisticsOnly() {
    // Train: class 0 around x = 0, class 1 around x = 10 (train mean 5). Test: only class-1 points,
    // x in [6, 9]. With the train statistics they all lie on the class-1 side; had the test set
    // been standardised with its own mean (7.5), half of them would cross to class 0.
    SplittableRandom rng = new SplittableRandom(3);
    int n = 400;
    float[] x = new float[n];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % 2;
      x[i] = (float) (10 * y[i] + rng.nextDouble(-1, 1));
    }
    float[] xt = new float[100];
    int[] yt = new int[100];
    for (int i = 0; i < 100; i++) {
      xt[i] = 6 + 3 * i / 99f;
      yt[i] = 1;
    }
    LinearProbe.Result r = LinearProbe.fit(x, y, xt, yt, 1, 2, FAST);
    assertEquals(1.0, r.testTop1());
    Standardizer st = Standardizer.fit(x, 1);
    assertArrayEquals(st.mean(), r.standardizer().mean());
    assertArrayEquals(st.std(), r.standardizer().std());
    assertEquals(5.0, r.standardizer().mean()[0], 0.1);
  }

  @Test
  void standardizerUsesPopulationStdAndLeavesConstantDimensionsAtZero() {
    float[] x = {1, 7, 3, 7, 5, 7}; // dim 0: 1, 3, 5 (mean 3, std √(8/3)); dim 1: constant 7
    Standardizer st = Standardizer.fit(x, 2);
    assertArrayEquals(new float[] {3, 7}, st.mean());
    assertEquals(Math.sqrt(8.0 / 3), st.std()[0], 1e-6);
    assertEquals(1f, st.std()[1]);
    float[] z = st.apply(new float[] {3, 7, 9, 100});
    assertEquals(0f, z[0]);
    assertEquals(0f, z[1]);
    assertEquals(6 / Math.sqrt(8.0 / 3), z[2], 1e-5);
    assertEquals(93f, z[3]);
  }

  @Test
  void biasStartsAtTheLogClassFrequencies() {
    float[] b = LinearProbe.logPriors(new int[] {1, 1, 1, 0, 1, 1, 1, 1, 1, 0}, 3); // 2, 8, 0 of 10
    assertEquals(Math.log(2.5 / 11.5), b[0], 1e-6);
    assertEquals(Math.log(8.5 / 11.5), b[1], 1e-6);
    assertEquals(Math.log(0.5 / 11.5), b[2], 1e-6);
  }

  @Test
  void forTrainSizePlansAtLeastAThousandSteps() {
    assertEquals(LinearProbe.Options.defaults(), LinearProbe.Options.forTrainSize(60000));
    LinearProbe.Options small = LinearProbe.Options.forTrainSize(2000); // 8 steps per epoch
    assertEquals(125, small.epochs());
    assertEquals(LinearProbe.Options.defaults().lr(), small.lr());
  }

  @Test
  void badArgumentsAreRejectedWithTheirValues() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new LinearProbe.Options(0, 1e-3f, 0f, 8, 0L));
    assertTrue(e.getMessage().contains("epochs must be >= 1, got 0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new LinearProbe.Options(1, Float.NaN, 0f, 8, 0L));
    assertTrue(e.getMessage().contains("lr") && e.getMessage().contains("NaN"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> LinearProbe.fit(new float[] {1, 2, 3}, new int[] {0},
        new float[0], new int[0], 2, 2, FAST));
    assertTrue(e.getMessage().contains("3 values, not a multiple of d = 2"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> LinearProbe.fit(new float[] {1, 2}, new int[] {0},
        new float[0], new int[0], 1, 2, FAST));
    assertTrue(e.getMessage().contains("train has 2 feature rows but 1 labels"), e.getMessage());
  }
}
