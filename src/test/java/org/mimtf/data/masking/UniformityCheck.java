package org.mimtf.data.masking;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A chi-square style check that every position is selected with the same frequency.
 *
 * <p>Setting: T independent draws, each selecting exactly k of N positions uniformly at random, so
 * each count c_i is Binomial(T, p) with p = k/N, and the counts are negatively correlated
 * (Cov(c_i, c_j) = -T p (1-p) / (N-1)) because every draw selects exactly k. The covariance matrix is
 * therefore T p (1-p) N/(N-1) (I - 11ᵀ/N), and the statistic
 *
 * <pre>  X = (N-1)/N * Σ (c_i - T p)² / (T p (1-p))</pre>
 *
 * is asymptotically χ² with N-1 degrees of freedom (mean N-1, standard deviation sqrt(2(N-1))). The
 * check accepts X below mean + 6 standard deviations; for a correct sampler the chance of exceeding it
 * is far below 1e-6 (and the tests use fixed seeds, so they are deterministic anyway). A sampler that
 * is biased is caught easily: never selecting one of 196 positions at p = 0.75 over 4000 draws adds
 * 3000² / 750 ≈ 12000 to X, against a threshold of ≈ 313.
 */
final class UniformityCheck {
  private UniformityCheck() {}

  static double statistic(long[] counts, int draws, double p) {
    int n = counts.length;
    double expected = draws * p;
    double variance = draws * p * (1 - p);
    double sum = 0;
    for (long c : counts) {
      double d = c - expected;
      sum += d * d / variance;
    }
    return sum * (n - 1) / n;
  }

  static double threshold(int n) {
    return (n - 1) + 6 * Math.sqrt(2.0 * (n - 1));
  }

  static void assertUniform(long[] counts, int draws, double p) {
    double x = statistic(counts, draws, p);
    double t = threshold(counts.length);
    assertTrue(x < t, "chi-square statistic " + x + " exceeds " + t + " (N = " + counts.length + ")");
  }

  static void accumulate(long[] counts, boolean[] selected) {
    for (int i = 0; i < selected.length; i++) {
      if (selected[i]) {
        counts[i]++;
      }
    }
  }
}
