package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import org.mimtf.config.proto.Interpolation;
import org.mimtf.data.Image;

/**
 * PIL-compatible image resampling (Pillow {@code libImaging/Resample.c}), which is what torchvision
 * 0.14 uses for PIL images in {@code Resize} and {@code RandomResizedCrop}.
 *
 * <p>Why PIL's algorithm and not plain bilinear interpolation: when PIL downscales it widens the
 * filter by the scale factor ({@code support = filter_support * max(1, in/out)}) and normalises the
 * weights, i.e. it <em>antialiases</em>. Random-resized crops downscale most of the time (a crop of
 * scale 0.2-1 of a 256² image resized to 224²), so a non-antialiased resize would feed the network
 * aliased images the reference models never saw.
 *
 * <p>Per axis and output index {@code xx} (Pillow {@code precompute_coeffs}, with the crop as the
 * input since torchvision crops before resizing):
 *
 * <pre>
 *   scale = in / out;  fs = max(scale, 1);  support = filter_support * fs
 *   center = (xx + 0.5) * scale
 *   xmin = max(0, (int)(center - support + 0.5));  xmax = min(in, (int)(center + support + 0.5))
 *   w[x] = filter((x - center + 0.5) / fs) for x in [xmin, xmax), normalised to sum 1
 * </pre>
 *
 * with the triangle filter (support 1) for bilinear and the cubic convolution with a = -0.5 (support
 * 2) for bicubic. Nearest follows Pillow's affine nearest path ({@code ImagingScaleAffine}): source
 * index {@code (int)((xx + 0.5) * scale)}, with the position accumulated as a running sum like Pillow
 * does. Pillow stores 8-bit values after each pass, which clips the overshoot of the bicubic kernel;
 * here values stay in float but bicubic results are likewise clipped to [0, 1] after each pass.
 *
 * <p>Speed (this is the input pipeline's hot path): the two axes are separable passes, horizontal over
 * only the rows the vertical pass reads, then vertical, as in Pillow. The weight tables are computed
 * once per call with a uniform tap count ({@link Taps}); the horizontal pass uses kernels unrolled
 * for the usual 1-5 taps, the vertical pass a vectorised weighted sum of rows ({@link
 * Kernels#weightedSum}). The loops allocate nothing and call no {@code Math} function other than the
 * vectorisable min/max of the clip.
 */
public final class Resampler {
  private Resampler() {}

  /** Resizes the whole image to {@code outH x outW}. */
  public static Image resize(Image in, int outH, int outW, Interpolation interpolation) {
    return resize(in, new CropBox(0, 0, in.height(), in.width()), outH, outW, interpolation);
  }

  /**
   * Crops {@code box} out of {@code in} and resizes the crop to {@code outH x outW}, in one step (the
   * crop is never materialised).
   */
  public static Image resize(
      Image in, CropBox box, int outH, int outW, Interpolation interpolation) {
    checkArgument(outH > 0 && outW > 0, "output size (%sx%s) must be positive", outH, outW);
    checkArgument(
        box.top() >= 0
            && box.left() >= 0
            && box.height() > 0
            && box.width() > 0
            && box.top() + box.height() <= in.height()
            && box.left() + box.width() <= in.width(),
        "crop box (%s) must lie inside the %sx%s image",
        box,
        in.height(),
        in.width());
    int c = in.channels();
    boolean clip = interpolation == Interpolation.BICUBIC;
    float[] src = in.data();
    int srcStride = in.width() * c;
    float[] out = new float[outH * outW * c];
    boolean sameW = box.width() == outW;
    boolean sameH = box.height() == outH;
    if (sameW && sameH) {
      copyRect(src, srcStride, box.top(), box.left() * c, outH, outW * c, out);
    } else if (sameH) {
      Taps xs = taps(box.width(), outW, interpolation);
      horizontal(src, srcStride, box.top(), box.left(), outH, xs, out, c, clip);
    } else if (sameW) {
      Taps ys = taps(box.height(), outH, interpolation);
      int base = box.top() * srcStride + box.left() * c;
      vertical(src, srcStride, base, outW * c, ys, out, clip);
    } else {
      Taps xs = taps(box.width(), outW, interpolation);
      Taps ys = taps(box.height(), outH, interpolation);
      int first = ys.firstIndex();
      int rows = ys.endIndex() - first;
      float[] tmp = new float[rows * outW * c];
      horizontal(src, srcStride, box.top() + first, box.left(), rows, xs, tmp, c, clip);
      int tmpStride = outW * c;
      vertical(tmp, tmpStride, -first * tmpStride, tmpStride, ys, out, clip);
    }
    return Image.wrap(outH, outW, c, out);
  }

  /** Copies {@code rows} rows of {@code rowLen} floats from row {@code top}, offset {@code colOffset}. */
  static void copyRect(
      float[] src, int srcStride, int top, int colOffset, int rows, int rowLen, float[] dst) {
    for (int r = 0; r < rows; r++) {
      System.arraycopy(src, (top + r) * srcStride + colOffset, dst, r * rowLen, rowLen);
    }
  }

  /**
   * Filter taps of one axis with a uniform tap count: output {@code i} reads inputs {@code [start[i],
   * start[i] + n)} (relative to the crop) with weights {@code weights[i * n + k]}.
   *
   * <p>Pillow's windows vary in length by one or two taps, some of them carrying an exact zero weight
   * (the cubic kernel vanishes at |x| = 2). The table trims the zero taps and then pads every window
   * to the longest one (moving windows at the right edge leftwards and adding zero weights), which
   * gives the inner loops a constant trip count: no branch mispredictions at loop exits and fused
   * multi-row kernels in the vertical pass. Zero taps add exact zeros, so results are unchanged.
   */
  static final class Taps {
    final int[] start;
    final int n;
    final float[] weights;

    Taps(int[] start, int n, float[] weights) {
      this.start = start;
      this.n = n;
      this.weights = weights;
    }

    int firstIndex() {
      int m = Integer.MAX_VALUE;
      for (int s : start) {
        m = Math.min(m, s);
      }
      return m;
    }

    int endIndex() {
      int m = 0;
      for (int s : start) {
        m = Math.max(m, s + n);
      }
      return m;
    }
  }

  /** Pillow's {@code precompute_coeffs}: {@code inSize} input samples resized to {@code outSize}. */
  static Taps taps(int inSize, int outSize, Interpolation interpolation) {
    double scale = (double) inSize / outSize;
    int[] start = new int[outSize];
    if (interpolation == Interpolation.NEAREST) {
      float[] weights = new float[outSize];
      // Pillow ImagingScaleAffine accumulates the position (xo = 0.5 * a; xo += a), and the rounding
      // of that running sum decides ties such as 5.5 * 6/11, so accumulate the same way.
      double pos = scale * 0.5;
      for (int xx = 0; xx < outSize; xx++) {
        int s = (int) pos;
        pos += scale;
        start[xx] = Math.min(s, inSize - 1);
        weights[xx] = 1f;
      }
      return new Taps(start, 1, weights);
    }
    boolean cubic = interpolation == Interpolation.BICUBIC;
    double filterSupport = cubic ? 2.0 : 1.0;
    double filterScale = Math.max(scale, 1.0);
    double support = filterSupport * filterScale;
    int ksize = (int) Math.ceil(support) * 2 + 1;
    float[] raw = new float[outSize * ksize];
    int[] count = new int[outSize];
    double[] k = new double[ksize];
    double ss = 1.0 / filterScale;
    int n = 1;
    for (int xx = 0; xx < outSize; xx++) {
      double center = (xx + 0.5) * scale;
      int xmin = (int) (center - support + 0.5);
      if (xmin < 0) {
        xmin = 0;
      }
      int xmax = (int) (center + support + 0.5);
      if (xmax > inSize) {
        xmax = inSize;
      }
      int len = xmax - xmin;
      double sum = 0;
      for (int x = 0; x < len; x++) {
        double arg = (x + xmin - center + 0.5) * ss;
        double w = cubic ? cubic(arg) : triangle(arg);
        k[x] = w;
        sum += w;
      }
      // Trim exact-zero taps at both ends (at least one tap stays).
      int first = 0;
      while (first < len - 1 && k[first] == 0) {
        first++;
      }
      int last = len - 1;
      while (last > first && k[last] == 0) {
        last--;
      }
      for (int x = first; x <= last; x++) {
        raw[xx * ksize + x - first] = (float) (sum != 0 ? k[x] / sum : k[x]);
      }
      start[xx] = xmin + first;
      count[xx] = last - first + 1;
      n = Math.max(n, count[xx]);
    }
    // Pad every window to n taps; n <= inSize because every trimmed window lies inside the input.
    float[] weights = new float[outSize * n];
    for (int xx = 0; xx < outSize; xx++) {
      int padded = Math.min(start[xx], inSize - n);
      int offset = start[xx] - padded;
      System.arraycopy(raw, xx * ksize, weights, xx * n + offset, count[xx]);
      start[xx] = padded;
    }
    return new Taps(start, n, weights);
  }

  /** Pillow {@code bilinear_filter}. */
  static double triangle(double x) {
    if (x < 0) {
      x = -x;
    }
    return x < 1.0 ? 1.0 - x : 0.0;
  }

  /** Pillow {@code bicubic_filter}: Keys cubic convolution with a = -0.5. */
  static double cubic(double x) {
    final double a = -0.5;
    if (x < 0) {
      x = -x;
    }
    if (x < 1.0) {
      return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    }
    if (x < 2.0) {
      return (((x - 5) * x + 8) * x - 4) * a;
    }
    return 0.0;
  }

  /**
   * Horizontal pass: reads {@code rows} source rows from {@code firstRow}, columns relative to {@code
   * colOffset}, writes {@code rows x outW x c} floats to {@code dst}.
   */
  private static void horizontal(
      float[] src,
      int srcStride,
      int firstRow,
      int colOffset,
      int rows,
      Taps xs,
      float[] dst,
      int c,
      boolean clip) {
    final int outW = xs.start.length;
    final int n = xs.n;
    final int[] start = xs.start;
    final float[] wt = xs.weights;
    int d = 0;
    if (c == 3) {
      for (int r = 0; r < rows; r++) {
        int rowBase = (firstRow + r) * srcStride + colOffset * 3;
        switch (n) {
          case 1 -> rgbTaps1(src, rowBase, start, wt, outW, dst, d);
          case 2 -> rgbTaps2(src, rowBase, start, wt, outW, dst, d);
          case 3 -> rgbTaps3(src, rowBase, start, wt, outW, dst, d);
          case 4 -> rgbTaps4(src, rowBase, start, wt, outW, dst, d);
          case 5 -> rgbTaps5(src, rowBase, start, wt, outW, dst, d);
          default -> rgbTapsN(src, rowBase, start, wt, n, outW, dst, d);
        }
        if (clip) {
          for (int i = d; i < d + outW * 3; i++) {
            dst[i] = Math.min(1f, Math.max(0f, dst[i]));
          }
        }
        d += outW * 3;
      }
    } else {
      for (int r = 0; r < rows; r++) {
        int rowBase = (firstRow + r) * srcStride + colOffset * c;
        for (int x = 0; x < outW; x++) {
          int wb = x * n;
          for (int ch = 0; ch < c; ch++) {
            int p = rowBase + start[x] * c + ch;
            float a = 0f;
            for (int k = 0; k < n; k++) {
              a += wt[wb + k] * src[p];
              p += c;
            }
            if (clip) {
              a = Math.min(1f, Math.max(0f, a));
            }
            dst[d++] = a;
          }
        }
      }
    }
  }


  // Horizontal kernels for interleaved RGB with a fixed tap count. Unrolled, so that every load is a
  // constant offset from one index (the JIT then needs one range check per pixel, not one per load)
  // and the loop has no inner exit branch.

  private static void rgbTaps1(
      float[] s, int rowBase, int[] start, float[] wt, int outW, float[] dst, int d) {
    for (int x = 0, wb = 0; x < outW; x++, wb += 1, d += 3) {
      int p = rowBase + start[x] * 3;
      float w0 = wt[wb];
      dst[d] = w0 * s[p];
      dst[d + 1] = w0 * s[p + 1];
      dst[d + 2] = w0 * s[p + 2];
    }
  }

  private static void rgbTaps2(
      float[] s, int rowBase, int[] start, float[] wt, int outW, float[] dst, int d) {
    for (int x = 0, wb = 0; x < outW; x++, wb += 2, d += 3) {
      int p = rowBase + start[x] * 3;
      float w0 = wt[wb];
      float w1 = wt[wb + 1];
      dst[d] = w0 * s[p] + w1 * s[p + 3];
      dst[d + 1] = w0 * s[p + 1] + w1 * s[p + 4];
      dst[d + 2] = w0 * s[p + 2] + w1 * s[p + 5];
    }
  }

  private static void rgbTaps3(
      float[] s, int rowBase, int[] start, float[] wt, int outW, float[] dst, int d) {
    for (int x = 0, wb = 0; x < outW; x++, wb += 3, d += 3) {
      int p = rowBase + start[x] * 3;
      float w0 = wt[wb];
      float w1 = wt[wb + 1];
      float w2 = wt[wb + 2];
      dst[d] = w0 * s[p] + w1 * s[p + 3] + w2 * s[p + 6];
      dst[d + 1] = w0 * s[p + 1] + w1 * s[p + 4] + w2 * s[p + 7];
      dst[d + 2] = w0 * s[p + 2] + w1 * s[p + 5] + w2 * s[p + 8];
    }
  }

  private static void rgbTaps4(
      float[] s, int rowBase, int[] start, float[] wt, int outW, float[] dst, int d) {
    for (int x = 0, wb = 0; x < outW; x++, wb += 4, d += 3) {
      int p = rowBase + start[x] * 3;
      float w0 = wt[wb];
      float w1 = wt[wb + 1];
      float w2 = wt[wb + 2];
      float w3 = wt[wb + 3];
      dst[d] = w0 * s[p] + w1 * s[p + 3] + w2 * s[p + 6] + w3 * s[p + 9];
      dst[d + 1] = w0 * s[p + 1] + w1 * s[p + 4] + w2 * s[p + 7] + w3 * s[p + 10];
      dst[d + 2] = w0 * s[p + 2] + w1 * s[p + 5] + w2 * s[p + 8] + w3 * s[p + 11];
    }
  }

  private static void rgbTaps5(
      float[] s, int rowBase, int[] start, float[] wt, int outW, float[] dst, int d) {
    for (int x = 0, wb = 0; x < outW; x++, wb += 5, d += 3) {
      int p = rowBase + start[x] * 3;
      float w0 = wt[wb];
      float w1 = wt[wb + 1];
      float w2 = wt[wb + 2];
      float w3 = wt[wb + 3];
      float w4 = wt[wb + 4];
      dst[d] = w0 * s[p] + w1 * s[p + 3] + w2 * s[p + 6] + w3 * s[p + 9] + w4 * s[p + 12];
      dst[d + 1] = w0 * s[p + 1] + w1 * s[p + 4] + w2 * s[p + 7] + w3 * s[p + 10] + w4 * s[p + 13];
      dst[d + 2] = w0 * s[p + 2] + w1 * s[p + 5] + w2 * s[p + 8] + w3 * s[p + 11] + w4 * s[p + 14];
    }
  }

  private static void rgbTapsN(
      float[] s, int rowBase, int[] start, float[] wt, int n, int outW, float[] dst, int d) {
    for (int x = 0, wb = 0; x < outW; x++, wb += n, d += 3) {
      int p = rowBase + start[x] * 3;
      float a0 = 0f;
      float a1 = 0f;
      float a2 = 0f;
      for (int k = 0; k < n; k++, p += 3) {
        float w = wt[wb + k];
        a0 += w * s[p];
        a1 += w * s[p + 1];
        a2 += w * s[p + 2];
      }
      dst[d] = a0;
      dst[d + 1] = a1;
      dst[d + 2] = a2;
    }
  }

  /**
   * Vertical pass: output row {@code y} is the weighted sum of source rows {@code start[y] + k}, each
   * row {@code rowLen} floats starting at {@code base + row * srcStride} ({@link
   * Kernels#weightedSum}, vectorised by the JIT).
   */
  private static void vertical(
      float[] src, int srcStride, int base, int rowLen, Taps ys, float[] dst, boolean clip) {
    final int outH = ys.start.length;
    final int n = ys.n;
    final float[] wt = ys.weights;
    for (int y = 0; y < outH; y++) {
      int o = y * rowLen;
      int wb = y * n;
      int p = base + ys.start[y] * srcStride;
      Kernels.weightedSum(dst, o, src, p, srcStride, wt, wb, n, rowLen);
      if (clip) {
        // Math.min/max are intrinsics that the JIT vectorises (a ternary clamp is ~5x slower here).
        for (int i = o; i < o + rowLen; i++) {
          dst[i] = Math.min(1f, Math.max(0f, dst[i]));
        }
      }
    }
  }
}
