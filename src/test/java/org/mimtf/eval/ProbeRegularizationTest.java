package org.mimtf.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableList;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ProbeRegularizationTest {
  /**
   * Two classes whose means differ by ±0.35 in each of the first {@code min(10, d)} dimensions (unit
   * noise everywhere), the other dimensions pure noise: with few rows per dimension a nearly
   * unregularised probe fits the noise dimensions, a strongly regularised one stays near the
   * class-mean direction.
   */
  private static float[] noisyTwoClass(int n, int d, int[] labels, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] x = new float[n * d];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 2;
      for (int j = 0; j < d; j++) {
        x[i * d + j] = (float) rng.nextGaussian() + (j < 10 ? (labels[i] == 1 ? 0.35f : -0.35f) : 0f);
      }
    }
    return x;
  }

  private static final ImmutableList<Float> GRID = ImmutableList.of(1e-6f, 1e-3f, 1e-1f, 1f);

  @Test
  void eachCandidateIsScoredOnTheSeededHeldOutRowsAndTheBestIsRefittedOnAllTrainRows() {
    int n = 80;
    int d = 40;
    int[] y = new int[n];
    float[] x = noisyTwoClass(n, d, y, 1);
    int nTest = 2000;
    int[] yTest = new int[nTest];
    float[] xTest = noisyTwoClass(nTest, d, yTest, 2);

    ProbeRegularization.Selection sel =
        ProbeRegularization.select(x, y, xTest, yTest, d, 2, GRID, 0.25, 7, 1000);

    // The same split rebuilt by hand: the last 20 rows of the seed-7 permutation are held out.
    int[] order = ProbeRegularization.permutation(n, 7);
    int nVal = 20;
    float[] fitX = new float[(n - nVal) * d];
    int[] fitY = new int[n - nVal];
    float[] valX = new float[nVal * d];
    int[] valY = new int[nVal];
    for (int i = 0; i < n; i++) {
      boolean fit = i < n - nVal;
      System.arraycopy(x, order[i] * d, fit ? fitX : valX, (fit ? i : i - (n - nVal)) * d, d);
      (fit ? fitY : valY)[fit ? i : i - (n - nVal)] = y[order[i]];
    }
    assertEquals(nVal, sel.validationRows());
    int best = 0;
    for (int k = 0; k < GRID.size(); k++) {
      double expected = LbfgsProbe.fit(fitX, fitY, valX, valY, d, 2,
          new LbfgsProbe.Options(GRID.get(k), 1000, LbfgsProbe.Options.defaults().tolerance())).testTop1();
      assertEquals(expected, sel.validationTop1()[k], 0.0, "validation top-1 of λ " + GRID.get(k));
      if (sel.validationTop1()[k] >= sel.validationTop1()[best]) {
        best = k; // ties go to the larger λ, which comes later in this ascending grid
      }
    }
    assertEquals(GRID.get(best), sel.weightDecay());
    LinearProbe.Result refit = LbfgsProbe.fit(x, y, xTest, yTest, d, 2,
        new LbfgsProbe.Options(sel.weightDecay(), 1000, LbfgsProbe.Options.defaults().tolerance()));
    assertEquals(refit.testTop1(), sel.result().testTop1(), 0.0);
    assertArrayEquals(refit.testPredictions(), sel.result().testPredictions());
  }

  @Test
  void regularisationIsChosenWhereNoiseDimensionsWouldBeFitted() {
    // 200 train rows (100 fitted, 100 held out), 80 dimensions of which 10 carry the class: λ 1e-6
    // nearly separates the 100 fitted rows through the noise; the held-out rows prefer a strong λ,
    // and so does the large test set.
    int n = 200;
    int d = 80;
    int[] y = new int[n];
    float[] x = noisyTwoClass(n, d, y, 11);
    int nTest = 4000;
    int[] yTest = new int[nTest];
    float[] xTest = noisyTwoClass(nTest, d, yTest, 12);
    ProbeRegularization.Selection sel =
        ProbeRegularization.select(x, y, xTest, yTest, d, 2, GRID, 0.5, 3, 1000);
    double weak = LbfgsProbe.fit(x, y, xTest, yTest, d, 2, new LbfgsProbe.Options(1e-6f, 1000, 1e-6)).testTop1();
    assertTrue(sel.weightDecay() >= 1e-1f, "chosen λ " + sel.weightDecay() + ", validation "
        + Arrays.toString(sel.validationTop1()));
    assertTrue(sel.result().testTop1() > weak + 0.03,
        "selected λ scores " + sel.result().testTop1() + " on the test set against " + weak + " for λ 1e-6");
  }

  @Test
  void theTestSetDoesNotTakePartInTheChoice() {
    int n = 60;
    int d = 30;
    int[] y = new int[n];
    float[] x = noisyTwoClass(n, d, y, 5);
    int[] yTest = new int[500];
    float[] xTest = noisyTwoClass(500, d, yTest, 6);
    int[] flipped = new int[500];
    for (int i = 0; i < 500; i++) {
      flipped[i] = 1 - yTest[i];
    }
    ProbeRegularization.Selection a = ProbeRegularization.select(x, y, xTest, yTest, d, 2, GRID, 0.3, 9, 1000);
    ProbeRegularization.Selection b = ProbeRegularization.select(x, y, xTest, flipped, d, 2, GRID, 0.3, 9, 1000);
    assertEquals(a.weightDecay(), b.weightDecay());
    assertArrayEquals(a.validationTop1(), b.validationTop1(), 0.0);
    assertEquals(1.0, a.result().testTop1() + b.result().testTop1(), 1e-12, "the same predictions, labels flipped");
  }

  @Test
  void thePermutationIsSeededAndCoversEveryRowOnce() {
    int[] p = ProbeRegularization.permutation(1000, 42);
    assertArrayEquals(p, ProbeRegularization.permutation(1000, 42));
    int[] sorted = p.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < 1000; i++) {
      assertEquals(i, sorted[i]);
    }
    int fixed = 0;
    for (int i = 0; i < 1000; i++) {
      fixed += p[i] == i ? 1 : 0;
    }
    assertTrue(fixed < 10, "a uniform permutation leaves about one row in place, got " + fixed);
    assertTrue(!Arrays.equals(p, ProbeRegularization.permutation(1000, 43)));
  }

  @Test
  void badSettingsAreRefusedWithTheValueNamed() {
    float[] x = {0f, 1f, 2f, 3f};
    int[] y = {0, 1, 0, 1};
    var e = assertThrows(IllegalArgumentException.class,
        () -> ProbeRegularization.select(x, y, x, y, 1, 2, GRID, 1.0, 0, 10));
    assertTrue(e.getMessage().contains("validationFraction") && e.getMessage().contains("1.0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> ProbeRegularization.select(x, y, x, y, 1, 2, ImmutableList.of(), 0.5, 0, 10));
    assertTrue(e.getMessage().contains("grid is empty"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> ProbeRegularization.select(x, y, x, y, 1, 2, GRID, 0.01, 0, 10));
    assertTrue(e.getMessage().contains("no rows on one side"), e.getMessage());
  }
}
