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
 * does. The two axes are applied as separable passes (horizontal over only the rows the vertical
 * pass reads, then vertical), with the weight tables computed once per call; the inner loops do no
 * allocation and no {@code Math} calls. Pillow stores 8-bit values after each pass, which clips the
 * overshoot of the bicubic kernel; here values stay in float but bicubic results are likewise clipped
 * to [0, 1].
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

  /** Copies a {@code rows x rowLen} block of floats starting at row {@code top}, float offset {@code colOffset}. */
  static void copyRect(
      float[] src, int srcStride, int top, int colOffset, int rows, int rowLen, float[] dst) {
    for (int r = 0; r < rows; r++) {
      System.arraycopy(src, (top + r) * srcStride + colOffset, dst, r * rowLen, rowLen);
    }
  }

  /**
   * Filter taps of one axis: output {@code i} reads inputs {@code [start[i], start[i] + count[i])}
   * (relative to the crop) with weights {@code weights[i * stride + k]}.
   */
  static final class Taps {
    final int[] start;
    final int[] count;
    final float[] weights;
    final int stride;

    Taps(int[] start, int[] count, float[] weights, int stride) {
      this.start = start;
      this.count = count;
      this.weights = weights;
      this.stride = stride;
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
      for (int i = 0; i < start.length; i++) {
        m = Math.max(m, start[i] + count[i]);
      }
      return m;
    }
  }

  /** Pillow's {@code precompute_coeffs} for an input of {@code inSize} samples resized to {@code outSize}. */
  static Taps taps(int inSize, int outSize, Interpolation interpolation) {
    double scale = (double) inSize / outSize;
    int[] start = new int[outSize];
    int[] count = new int[outSize];
    if (interpolation == Interpolation.NEAREST) {
      float[] weights = new float[outSize];
      // Pillow ImagingScaleAffine accumulates the position (xo = 0.5 * a; xo += a), and the rounding
      // of that running sum decides ties such as 5.5 * 6/11, so accumulate the same way.
      double pos = scale * 0.5;
      for (int xx = 0; xx < outSize; xx++) {
        int s = (int) pos;
        pos += scale;
        start[xx] = Math.min(s, inSize - 1);
        count[xx] = 1;
        weights[xx] = 1f;
      }
      return new Taps(start, count, weights, 1);
    }
    boolean cubic = interpolation == Interpolation.BICUBIC;
    double filterSupport = cubic ? 2.0 : 1.0;
    double filterScale = Math.max(scale, 1.0);
    double support = filterSupport * filterScale;
    int stride = (int) Math.ceil(support) * 2 + 1;
    float[] weights = new float[outSize * stride];
    double[] k = new double[stride];
    double ss = 1.0 / filterScale;
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
      int n = xmax - xmin;
      double sum = 0;
      for (int x = 0; x < n; x++) {
        double arg = (x + xmin - center + 0.5) * ss;
        double w = cubic ? cubic(arg) : triangle(arg);
        k[x] = w;
        sum += w;
      }
      for (int x = 0; x < n; x++) {
        weights[xx * stride + x] = (float) (sum != 0 ? k[x] / sum : k[x]);
      }
      start[xx] = xmin;
      count[xx] = n;
    }
    return new Taps(start, count, weights, stride);
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
    final int stride = xs.stride;
    final int[] start = xs.start;
    final int[] count = xs.count;
    final float[] wt = xs.weights;
    int d = 0;
    if (c == 3) {
      for (int r = 0; r < rows; r++) {
        int rowBase = (firstRow + r) * srcStride + colOffset * 3;
        for (int x = 0; x < outW; x++) {
          int p = rowBase + start[x] * 3;
          int wb = x * stride;
          int n = count[x];
          float a0 = 0f;
          float a1 = 0f;
          float a2 = 0f;
          for (int k = 0; k < n; k++) {
            float w = wt[wb + k];
            a0 += w * src[p];
            a1 += w * src[p + 1];
            a2 += w * src[p + 2];
            p += 3;
          }
          if (clip) {
            a0 = a0 < 0f ? 0f : (a0 > 1f ? 1f : a0);
            a1 = a1 < 0f ? 0f : (a1 > 1f ? 1f : a1);
            a2 = a2 < 0f ? 0f : (a2 > 1f ? 1f : a2);
          }
          dst[d] = a0;
          dst[d + 1] = a1;
          dst[d + 2] = a2;
          d += 3;
        }
      }
    } else {
      for (int r = 0; r < rows; r++) {
        int rowBase = (firstRow + r) * srcStride + colOffset * c;
        for (int x = 0; x < outW; x++) {
          int wb = x * stride;
          int n = count[x];
          for (int ch = 0; ch < c; ch++) {
            int p = rowBase + start[x] * c + ch;
            float a = 0f;
            for (int k = 0; k < n; k++) {
              a += wt[wb + k] * src[p];
              p += c;
            }
            if (clip) {
              a = a < 0f ? 0f : (a > 1f ? 1f : a);
            }
            dst[d++] = a;
          }
        }
      }
    }
  }

  /**
   * Vertical pass: output row {@code y} is the weighted sum of source rows {@code start[y] + k}, each
   * row {@code rowLen} floats starting at {@code base + row * srcStride}.
   */
  private static void vertical(
      float[] src, int srcStride, int base, int rowLen, Taps ys, float[] dst, boolean clip) {
    final int outH = ys.start.length;
    final int stride = ys.stride;
    final float[] wt = ys.weights;
    for (int y = 0; y < outH; y++) {
      int o = y * rowLen;
      int n = ys.count[y];
      int wb = y * stride;
      int p = base + ys.start[y] * srcStride;
      float w0 = wt[wb];
      for (int i = 0; i < rowLen; i++) {
        dst[o + i] = w0 * src[p + i];
      }
      for (int k = 1; k < n; k++) {
        p += srcStride;
        float w = wt[wb + k];
        for (int i = 0; i < rowLen; i++) {
          dst[o + i] += w * src[p + i];
        }
      }
      if (clip) {
        for (int i = o; i < o + rowLen; i++) {
          float v = dst[i];
          dst[i] = v < 0f ? 0f : (v > 1f ? 1f : v);
        }
      }
    }
  }
}
