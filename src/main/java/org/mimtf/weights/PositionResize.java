package org.mimtf.weights;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * Resizes an absolute position table to another patch grid as timm's {@code resample_abs_pos_embed}
 * does: the prefix (CLS) rows are kept, the grid rows are resampled as a [D, h, w] image by
 * {@code F.interpolate(mode="bicubic", antialias=True, align_corners=False)}. That is PyTorch's
 * antialiased bicubic (Pillow's filter, a = −0.5, support widened by the scale when shrinking, weights
 * renormalised over the pixels inside the image), applied separably, rows then columns.
 */
public final class PositionResize {
  private PositionResize() {}

  /**
   * @param table [prefix + oldH·oldW, D]
   * @return [prefix + newH·newW, D]
   */
  public static TensorData resize(TensorData table, int prefix, int oldH, int oldW, int newH, int newW) {
    checkArgument(table.shape().length == 2 && table.shape()[0] == prefix + (long) oldH * oldW,
        "position table %s does not hold %s prefix rows and a %sx%s grid", table.shapeString(), prefix, oldH, oldW);
    int d = (int) table.shape()[1];
    float[] src = table.data();
    float[] out = new float[(prefix + newH * newW) * d];
    System.arraycopy(src, 0, out, 0, prefix * d);
    // rows: [oldH, oldW, D] -> [newH, oldW, D]
    double[] mid = new double[newH * oldW * d];
    Weights wh = weights(oldH, newH);
    for (int i = 0; i < newH; i++) {
      for (int k = 0; k < wh.size[i]; k++) {
        int y = wh.start[i] + k;
        double w = wh.w[i][k];
        for (int x = 0; x < oldW; x++) {
          int s = (prefix + y * oldW + x) * d;
          int t = (i * oldW + x) * d;
          for (int c = 0; c < d; c++) {
            mid[t + c] += w * src[s + c];
          }
        }
      }
    }
    Weights ww = weights(oldW, newW);
    for (int i = 0; i < newH; i++) {
      for (int j = 0; j < newW; j++) {
        int t = (prefix + i * newW + j) * d;
        for (int k = 0; k < ww.size[j]; k++) {
          int x = ww.start[j] + k;
          double w = ww.w[j][k];
          int s = (i * oldW + x) * d;
          for (int c = 0; c < d; c++) {
            out[t + c] += (float) (w * mid[s + c]);
          }
        }
      }
    }
    return new TensorData(new long[] {prefix + (long) newH * newW, d}, out);
  }

  private record Weights(int[] start, int[] size, double[][] w) {}

  /** PyTorch's {@code _compute_indices_min_size_weights_aa} for the bicubic filter. */
  private static Weights weights(int in, int out) {
    double scale = (double) in / out;
    double support = scale >= 1.0 ? 2.0 * scale : 2.0;
    double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
    int[] start = new int[out];
    int[] size = new int[out];
    double[][] w = new double[out][];
    for (int i = 0; i < out; i++) {
      double center = scale * (i + 0.5);
      int xmin = Math.max((int) (center - support + 0.5), 0);
      int xsize = Math.min((int) (center + support + 0.5), in) - xmin;
      double[] wi = new double[xsize];
      double total = 0;
      for (int j = 0; j < xsize; j++) {
        wi[j] = cubic((j + xmin - center + 0.5) * invscale);
        total += wi[j];
      }
      for (int j = 0; j < xsize; j++) {
        wi[j] = total != 0 ? wi[j] / total : 0;
      }
      start[i] = xmin;
      size[i] = xsize;
      w[i] = wi;
    }
    return new Weights(start, size, w);
  }

  /** Keys' cubic convolution kernel with a = −0.5 (Pillow's and PyTorch's antialiased bicubic). */
  private static double cubic(double x) {
    double a = -0.5;
    x = Math.abs(x);
    if (x < 1.0) {
      return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    }
    if (x < 2.0) {
      return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    }
    return 0.0;
  }

  /**
   * BEiT's {@code interpolate_pos_embed}: the CLS row kept, the g0×g0 patch rows resized to g1×g1 with
   * PyTorch's bicubic interpolation ({@code align_corners=False}, A = −0.75, edges clamped, no
   * antialiasing): the fine-tuning convention of the official BEiT code, where {@link #resize} is timm's.
   * Tables are [1 + g·g, width], row-major.
   */
  public static float[] resizeBeit(float[] table, long fromRows, long toRows, long width) {
    int d = (int) width;
    int g0 = (int) Math.round(Math.sqrt(fromRows - 1));
    int g1 = (int) Math.round(Math.sqrt(toRows - 1));
    float[] out = new float[(g1 * g1 + 1) * d];
    System.arraycopy(table, 0, out, 0, d);
    double scale = (double) g0 / g1;
    for (int oy = 0; oy < g1; oy++) {
      double sy = (oy + 0.5) * scale - 0.5;
      int iy = (int) Math.floor(sy);
      double[] wy = beitCubicWeights(sy - iy);
      for (int ox = 0; ox < g1; ox++) {
        double sx = (ox + 0.5) * scale - 0.5;
        int ix = (int) Math.floor(sx);
        double[] wx = beitCubicWeights(sx - ix);
        for (int c = 0; c < d; c++) {
          double acc = 0;
          for (int a = 0; a < 4; a++) {
            int yy = Math.max(0, Math.min(g0 - 1, iy - 1 + a));
            for (int b = 0; b < 4; b++) {
              int xx = Math.max(0, Math.min(g0 - 1, ix - 1 + b));
              acc += wy[a] * wx[b] * table[(1 + yy * g0 + xx) * d + c];
            }
          }
          out[(1 + oy * g1 + ox) * d + c] = (float) acc;
        }
      }
    }
    return out;
  }

  private static double[] beitCubicWeights(double t) {
    double a = -0.75;
    return new double[] {cubic2(t + 1, a), cubic1(t, a), cubic1(1 - t, a), cubic2(2 - t, a)};
  }

  private static double cubic1(double x, double a) {
    return ((a + 2) * x - (a + 3)) * x * x + 1;
  }

  private static double cubic2(double x, double a) {
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  }
}
