package org.mimtf.eval;

/**
 * Per-dimension standardisation (x − mean) / std with statistics taken from the train set only, so
 * that nothing about the test set leaks into the classifier. A dimension that is constant on the
 * train set (std below 1e-6 times the largest std, or exactly 0, such as always-black border pixels)
 * gets std 1: it becomes a constant 0 that carries no signal, instead of dividing by ~0.
 *
 * @param mean per-dimension train mean
 * @param std per-dimension train standard deviation (population, 1/n), with the rule above
 */
public record Standardizer(float[] mean, float[] std) {
  /** Relative threshold under which a dimension counts as constant. */
  static final double CONSTANT_DIM = 1e-6;

  /** Fits the statistics of row-major [n, d] features (n ≥ 1), accumulating in double precision. */
  public static Standardizer fit(float[] x, int d) {
    int n = Features.rows("train", x, d);
    if (n == 0) {
      throw new IllegalArgumentException("cannot standardise with an empty train set");
    }
    double[] sum = new double[d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        sum[j] += x[i * d + j];
      }
    }
    double[] mean = new double[d];
    for (int j = 0; j < d; j++) {
      mean[j] = sum[j] / n;
    }
    double[] sq = new double[d];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < d; j++) {
        double c = x[i * d + j] - mean[j];
        sq[j] += c * c;
      }
    }
    double maxStd = 0;
    double[] std = new double[d];
    for (int j = 0; j < d; j++) {
      std[j] = Math.sqrt(sq[j] / n);
      maxStd = Math.max(maxStd, std[j]);
    }
    float[] m = new float[d];
    float[] s = new float[d];
    for (int j = 0; j < d; j++) {
      m[j] = (float) mean[j];
      s[j] = std[j] == 0 || std[j] < CONSTANT_DIM * maxStd ? 1f : (float) std[j];
    }
    return new Standardizer(m, s);
  }

  /** The feature dimension. */
  public int dim() {
    return mean.length;
  }

  /** A standardised copy of row-major [n, d] features. */
  public float[] apply(float[] x) {
    int d = dim();
    Features.rows("standardised", x, d);
    float[] out = new float[x.length];
    for (int i = 0; i < x.length; i += d) {
      for (int j = 0; j < d; j++) {
        out[i + j] = (x[i + j] - mean[j]) / std[j];
      }
    }
    return out;
  }
}
