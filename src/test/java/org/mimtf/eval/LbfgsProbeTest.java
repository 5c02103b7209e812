package org.mimtf.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LbfgsProbeTest {
  @Test
  void minimisesAnIllConditionedQuadraticToItsClosedFormMinimiser() {
    // f(θ) = ½ Σ a_i θ_i² − Σ c_i θ_i, curvatures from 1e-4 to 1 (condition number 1e4) plus a
    // coupling term, minimiser θ* = A⁻¹c solved here in closed form for the 2×2 coupled block.
    int n = 20;
    double[] a = new double[n];
    double[] c = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = Math.pow(10, -4.0 * i / (n - 1));
      c[i] = 1 + 0.1 * i;
    }
    double k = 0.4 * Math.sqrt(a[0] * a[1]); // off-diagonal A[0][1] = A[1][0], keeps A positive definite
    LbfgsProbe.Function f = (th, g) -> {
      double v = k * th[0] * th[1];
      for (int i = 0; i < n; i++) {
        v += 0.5 * a[i] * th[i] * th[i] - c[i] * th[i];
        g[i] = a[i] * th[i] - c[i];
      }
      g[0] += k * th[1];
      g[1] += k * th[0];
      return v;
    };
    double[] theta = new double[n];
    long it = LbfgsProbe.minimise(f, theta, new LbfgsProbe.Options(0f, 2000, 1e-10));
    double det = a[0] * a[1] - k * k;
    assertEquals((a[1] * c[0] - k * c[1]) / det, theta[0], 1e-6 * Math.abs(theta[0]));
    assertEquals((a[0] * c[1] - k * c[0]) / det, theta[1], 1e-6 * Math.abs(theta[1]));
    for (int i = 2; i < n; i++) {
      assertEquals(c[i] / a[i], theta[i], 1e-6 * c[i] / a[i], "θ_" + i);
    }
    assertTrue(it < 2000, "stopped by the tolerance, not the budget: " + it);
  }

  @Test
  void reachesTheOptimumOfBinaryLogisticRegressionFoundByNewton() {
    // One feature, two classes: the softmax probe with penalty λ/2·(w0² + w1²) is logistic regression
    // on v = w1 − w0 with penalty λ/4·v² (the penalty is smallest at w0 = −w1). Newton's method on
    // (v, c) finds that optimum to machine precision; the probe's train loss must equal it.
    SplittableRandom rng = new SplittableRandom(3);
    int n = 400;
    float[] x = new float[n];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % 2;
      x[i] = (float) (3 + (y[i] == 1 ? 0.8 : -0.8) + rng.nextGaussian());
    }
    float lambda = 1e-2f;
    LinearProbe.Result r = LbfgsProbe.fit(x, y, x, y, 1, 2, new LbfgsProbe.Options(lambda, 1000, 1e-12));
    float[] z = Standardizer.fit(x, 1).apply(x);
    double v = 0;
    double c = 0;
    for (int iter = 0; iter < 50; iter++) {
      double gv = lambda / 2 * v;
      double gc = 0;
      double hvv = lambda / 2;
      double hvc = 0;
      double hcc = 0;
      for (int i = 0; i < n; i++) {
        double p = 1 / (1 + Math.exp(-(v * z[i] + c)));
        double e = (p - y[i]) / n;
        double h = p * (1 - p) / n;
        gv += e * z[i];
        gc += e;
        hvv += h * z[i] * z[i];
        hvc += h * z[i];
        hcc += h;
      }
      double det = hvv * hcc - hvc * hvc;
      v -= (hcc * gv - hvc * gc) / det;
      c -= (hvv * gc - hvc * gv) / det;
    }
    double loss = 0;
    int hits = 0;
    for (int i = 0; i < n; i++) {
      double s = v * z[i] + c;
      loss += Math.log1p(Math.exp(-(y[i] == 1 ? s : -s))) / n;
      hits += (s > 0 ? 1 : 0) == y[i] ? 1 : 0;
    }
    assertEquals(loss, r.trainLoss(), 1e-7);
    assertEquals((double) hits / n, r.trainTop1());
  }

  @Test
  void fitsCorrelatedFeaturesThatAFixedAdamBudgetUnderfits() {
    // Two dimensions that are almost the same signal u (correlation 1 − 1e-4 after standardisation);
    // the class is in their small difference. Separable with weights of order 100 in the
    // standardised space: the penalised optimum separates (nearly) all rows, while Adam's default
    // budget moves each weight by only a few units.
    SplittableRandom rng = new SplittableRandom(9);
    int n = 2000;
    float[] x = new float[n * 2];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = i % 2;
      double u = rng.nextGaussian();
      double margin = (y[i] == 1 ? 1 : -1) * (0.01 + 0.01 * Math.abs(rng.nextGaussian()));
      x[2 * i] = (float) u;
      x[2 * i + 1] = (float) (u + margin);
    }
    float[] xt = java.util.Arrays.copyOfRange(x, 0, 1000);
    int[] yt = java.util.Arrays.copyOfRange(y, 0, 500);
    LinearProbe.Result lb = LbfgsProbe.fit(x, y, xt, yt, 2, 2, new LbfgsProbe.Options(1e-6f, 1000, 1e-9));
    LinearProbe.Result adam = LinearProbe.fit(x, y, xt, yt, 2, 2, LinearProbe.Options.forTrainSize(n));
    assertTrue(lb.trainTop1() > 0.99, "L-BFGS train accuracy " + lb.trainTop1());
    assertTrue(lb.testTop1() > 0.99, "L-BFGS test accuracy " + lb.testTop1());
    assertTrue(adam.trainTop1() < lb.trainTop1() - 0.05,
        "Adam " + adam.trainTop1() + " vs L-BFGS " + lb.trainTop1() + ": the case no longer shows the underfit");
  }

  @Test
  void rejectsBadOptions() {
    assertThrows(IllegalArgumentException.class, () -> new LbfgsProbe.Options(-1f, 10, 1e-6));
    assertThrows(IllegalArgumentException.class, () -> new LbfgsProbe.Options(0f, 0, 1e-6));
    assertThrows(IllegalArgumentException.class, () -> new LbfgsProbe.Options(0f, 10, Double.NaN));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LbfgsProbe.fit(
        new float[] {1, 2, 3}, new int[] {0}, new float[0], new int[0], 2, 2, LbfgsProbe.Options.defaults()));
    assertTrue(e.getMessage().contains("train"), e.getMessage());
  }
}
