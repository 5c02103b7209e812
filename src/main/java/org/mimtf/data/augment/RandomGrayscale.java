package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * torchvision {@code RandomGrayscale(p)}: with probability p ({@code U[0,1) < p}) replace every pixel
 * by its luma 0.299 R + 0.587 G + 0.114 B, keeping the channel count (gray replicated to 3 channels).
 * One-channel images are already gray and are returned unchanged (the draw still happens, as in
 * torchvision).
 */
public final class RandomGrayscale implements InPlaceOp {
  private final double p;

  public RandomGrayscale(double p) {
    checkArgument(p >= 0 && p <= 1, "p (%s) must be in [0, 1]", p);
    this.p = p;
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    if (!(rng.nextDouble() < p) || in.channels() != 3) {
      return in;
    }
    float[] out = new float[in.data().length];
    ColorOps.grayscale3(in.data(), out);
    return Image.wrap(in.height(), in.width(), 3, out);
  }

  @Override
  public boolean applyInPlace(Image img, RandomGenerator rng) {
    if (!(rng.nextDouble() < p) || img.channels() != 3) {
      return false;
    }
    ColorOps.grayscale3(img.data(), img.data());
    return true;
  }

  @Override
  public boolean isGeometric() {
    return false;
  }

  @Override
  public String toString() {
    return "RandomGrayscale(p=" + p + ")";
  }
}
