package org.mimtf.data.augment;

/**
 * The one inner loop shared by the separable filters ({@link Resampler}'s vertical pass, both passes
 * of {@link GaussianBlur}): a weighted sum of shifted copies of a float row,
 *
 * <pre>  dst[dOff + i] = Σ_k w[wOff + k] * src[sOff + k * tapStride + i],   0 &lt;= i &lt; len</pre>
 *
 * <p>Taps are consumed up to five at a time by fused loops (one store per element per group instead of
 * one per tap). Every loop is a plain element-wise expression over contiguous indices, which the JIT
 * vectorises; that makes these passes several times faster than per-pixel tap loops.
 */
final class Kernels {
  private Kernels() {}

  static void weightedSum(
      float[] dst,
      int dOff,
      float[] src,
      int sOff,
      int tapStride,
      float[] w,
      int wOff,
      int n,
      int len) {
    int k = 0;
    int p = sOff;
    while (k < n) {
      int m = n - k == 5 ? 5 : Math.min(4, n - k);
      boolean acc = k > 0;
      int b = wOff + k;
      switch (m) {
        case 5 -> rows5(dst, dOff, src, p, tapStride, b, w, len, acc);
        case 4 -> rows4(dst, dOff, src, p, tapStride, w[b], w[b + 1], w[b + 2], w[b + 3], len, acc);
        case 3 -> rows3(dst, dOff, src, p, tapStride, w[b], w[b + 1], w[b + 2], len, acc);
        case 2 -> rows2(dst, dOff, src, p, tapStride, w[b], w[b + 1], len, acc);
        default -> rows1(dst, dOff, src, p, w[b], len, acc);
      }
      k += m;
      p += m * tapStride;
    }
  }

  static void rows5(
      float[] d, int o, float[] s, int p, int st, int wb, float[] wt, int len, boolean acc) {
    float w0 = wt[wb];
    float w1 = wt[wb + 1];
    float w2 = wt[wb + 2];
    float w3 = wt[wb + 3];
    float w4 = wt[wb + 4];
    int p1 = p + st;
    int p2 = p1 + st;
    int p3 = p2 + st;
    int p4 = p3 + st;
    if (acc) {
      for (int i = 0; i < len; i++) {
        d[o + i] +=
            w0 * s[p + i] + w1 * s[p1 + i] + w2 * s[p2 + i] + w3 * s[p3 + i] + w4 * s[p4 + i];
      }
    } else {
      for (int i = 0; i < len; i++) {
        d[o + i] =
            w0 * s[p + i] + w1 * s[p1 + i] + w2 * s[p2 + i] + w3 * s[p3 + i] + w4 * s[p4 + i];
      }
    }
  }

  static void rows4(float[] d, int o, float[] s, int p, int st, float w0, float w1,
      float w2, float w3, int len, boolean acc) {
    int p1 = p + st;
    int p2 = p1 + st;
    int p3 = p2 + st;
    if (acc) {
      for (int i = 0; i < len; i++) {
        d[o + i] += w0 * s[p + i] + w1 * s[p1 + i] + w2 * s[p2 + i] + w3 * s[p3 + i];
      }
    } else {
      for (int i = 0; i < len; i++) {
        d[o + i] = w0 * s[p + i] + w1 * s[p1 + i] + w2 * s[p2 + i] + w3 * s[p3 + i];
      }
    }
  }

  static void rows3(float[] d, int o, float[] s, int p, int st, float w0, float w1,
      float w2, int len, boolean acc) {
    int p1 = p + st;
    int p2 = p1 + st;
    if (acc) {
      for (int i = 0; i < len; i++) {
        d[o + i] += w0 * s[p + i] + w1 * s[p1 + i] + w2 * s[p2 + i];
      }
    } else {
      for (int i = 0; i < len; i++) {
        d[o + i] = w0 * s[p + i] + w1 * s[p1 + i] + w2 * s[p2 + i];
      }
    }
  }

  static void rows2(float[] d, int o, float[] s, int p, int st, float w0, float w1,
      int len, boolean acc) {
    int p1 = p + st;
    if (acc) {
      for (int i = 0; i < len; i++) {
        d[o + i] += w0 * s[p + i] + w1 * s[p1 + i];
      }
    } else {
      for (int i = 0; i < len; i++) {
        d[o + i] = w0 * s[p + i] + w1 * s[p1 + i];
      }
    }
  }

  static void rows1(float[] d, int o, float[] s, int p, float w0, int len, boolean acc) {
    if (acc) {
      for (int i = 0; i < len; i++) {
        d[o + i] += w0 * s[p + i];
      }
    } else {
      for (int i = 0; i < len; i++) {
        d[o + i] = w0 * s[p + i];
      }
    }
  }
}
