package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * The ConMIM / MOCA {@code GaussianBlur(p, radius_min, radius_max)} (common-vit.md §15): with
 * probability p ({@code random.random() <= p}) blur with PIL {@code GaussianBlur(radius=sigma)}, sigma
 * drawn from {@code U[min, max]}.
 *
 * <p>PIL approximates the Gaussian with three extended box blurs on 8-bit data; here it is a true
 * separable Gaussian, {@code exp(-k² / 2σ²)} for {@code |k| <= ceil(3σ)}, normalised to sum 1, with
 * edge pixels replicated (clamped indices) so that a constant image stays constant. The kernel is
 * built once per call; the per-pixel loops only multiply and add.
 */
public final class GaussianBlur implements Augmentation {
  private final double p;
  private final double minSigma;
  private final double maxSigma;

  public GaussianBlur(double p, double minSigma, double maxSigma) {
    checkArgument(p >= 0 && p <= 1, "p (%s) must be in [0, 1]", p);
    checkArgument(minSigma > 0, "min_sigma (%s) must be > 0", minSigma);
    checkArgument(
        maxSigma >= minSigma, "max_sigma (%s) must be >= min_sigma (%s)", maxSigma, minSigma);
    this.p = p;
    this.minSigma = minSigma;
    this.maxSigma = maxSigma;
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    if (!(rng.nextDouble() <= p)) {
      return in;
    }
    double sigma = minSigma + (maxSigma - minSigma) * rng.nextDouble();
    return blur(in, sigma);
  }

  /** The normalised kernel, {@code 2 * ceil(3σ) + 1} taps, centre at index {@code ceil(3σ)}. */
  public static float[] kernel(double sigma) {
    checkArgument(sigma > 0, "sigma (%s) must be > 0", sigma);
    int radius = (int) Math.ceil(3 * sigma);
    double[] k = new double[2 * radius + 1];
    double sum = 0;
    for (int i = -radius; i <= radius; i++) {
      k[i + radius] = Math.exp(-(i * (double) i) / (2 * sigma * sigma));
      sum += k[i + radius];
    }
    float[] out = new float[k.length];
    for (int i = 0; i < k.length; i++) {
      out[i] = (float) (k[i] / sum);
    }
    return out;
  }

  /**
   * Separable Gaussian blur with edge replication. Away from the borders both passes are weighted sums
   * of shifted rows ({@link Kernels#weightedSum}: along a row the taps are {@code c} floats apart,
   * across rows a whole row apart); only the {@code ceil(3σ)} pixels next to each border take the
   * clamped-index path.
   */
  public static Image blur(Image in, double sigma) {
    float[] k = kernel(sigma);
    int n = k.length;
    int r = n / 2;
    int h = in.height();
    int w = in.width();
    int c = in.channels();
    int stride = w * c;
    float[] src = in.data();
    float[] tmp = new float[src.length];
    // Horizontal pass. Interior pixels x in [r, w - r) read pixels x - r .. x + r without clamping.
    int interiorStart = Math.min(r, w);
    int interiorEnd = Math.max(interiorStart, w - r);
    for (int y = 0; y < h; y++) {
      int row = y * stride;
      if (interiorEnd > interiorStart) {
        Kernels.weightedSum(
            tmp, row + interiorStart * c, src, row + (interiorStart - r) * c, c, k, 0, n,
            (interiorEnd - interiorStart) * c);
      }
      for (int x = 0; x < w; x++) {
        if (x == interiorStart && interiorEnd > interiorStart) {
          x = interiorEnd - 1;
          continue;
        }
        for (int ch = 0; ch < c; ch++) {
          float acc = 0f;
          for (int t = 0; t < n; t++) {
            int sx = x + t - r;
            sx = sx < 0 ? 0 : (sx >= w ? w - 1 : sx);
            acc += k[t] * src[row + sx * c + ch];
          }
          tmp[row + x * c + ch] = acc;
        }
      }
    }
    // Vertical pass: whole rows; rows near the top and bottom use clamped source rows.
    float[] out = new float[src.length];
    for (int y = 0; y < h; y++) {
      int o = y * stride;
      if (y >= r && y + r < h) {
        Kernels.weightedSum(out, o, tmp, (y - r) * stride, stride, k, 0, n, stride);
      } else {
        for (int t = 0; t < n; t++) {
          int sy = y + t - r;
          sy = sy < 0 ? 0 : (sy >= h ? h - 1 : sy);
          int s0 = sy * stride;
          float wt = k[t];
          for (int i = 0; i < stride; i++) {
            out[o + i] += wt * tmp[s0 + i];
          }
        }
      }
    }
    return Image.wrap(h, w, c, out);
  }

  @Override
  public boolean isGeometric() {
    return false;
  }

  @Override
  public String toString() {
    return "GaussianBlur(p=" + p + ", sigma=[" + minSigma + ", " + maxSigma + "])";
  }
}
