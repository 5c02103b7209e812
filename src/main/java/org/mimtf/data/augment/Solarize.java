package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * The ConMIM / MOCA {@code Solarization(p)}: with probability p ({@code random.random() < p}) PIL's
 * {@code ImageOps.solarize}, which inverts every value at or above the threshold (128 of 255 in 8
 * bits, 0.5 on [0, 1] floats): {@code x >= t -> 1 - x} (common-vit.md §15).
 */
public final class Solarize implements InPlaceOp {
  private final double p;
  private final float threshold;

  public Solarize(double p, float threshold) {
    checkArgument(p >= 0 && p <= 1, "p (%s) must be in [0, 1]", p);
    checkArgument(threshold >= 0 && threshold <= 1, "threshold (%s) must be in [0, 1]", threshold);
    this.p = p;
    this.threshold = threshold;
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    if (!(rng.nextDouble() < p)) {
      return in;
    }
    return solarize(in, threshold);
  }

  @Override
  public boolean applyInPlace(Image img, RandomGenerator rng) {
    if (!(rng.nextDouble() < p)) {
      return false;
    }
    solarize(img.data(), img.data(), threshold);
    return true;
  }

  /** Inverts the values {@code >= threshold}. */
  public static Image solarize(Image in, float threshold) {
    float[] out = new float[in.data().length];
    solarize(in.data(), out, threshold);
    return Image.wrap(in.height(), in.width(), in.channels(), out);
  }

  private static void solarize(float[] src, float[] dst, float threshold) {
    for (int i = 0; i < src.length; i++) {
      float v = src[i];
      dst[i] = v >= threshold ? 1f - v : v;
    }
  }

  @Override
  public boolean isGeometric() {
    return false;
  }

  @Override
  public String toString() {
    return "Solarize(p=" + p + ", threshold=" + threshold + ")";
  }
}
