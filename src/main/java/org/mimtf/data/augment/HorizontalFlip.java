package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/** torchvision {@code RandomHorizontalFlip(p)}: mirror left-right when {@code U[0,1) < p}. */
public final class HorizontalFlip implements Augmentation {
  private final double p;

  public HorizontalFlip(double p) {
    checkArgument(p >= 0 && p <= 1, "p (%s) must be in [0, 1]", p);
    this.p = p;
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    if (!(rng.nextDouble() < p)) {
      return in;
    }
    return flip(in);
  }

  /** The mirror image (column x becomes column W - 1 - x). */
  public static Image flip(Image in) {
    int h = in.height();
    int w = in.width();
    int c = in.channels();
    float[] src = in.data();
    float[] out = new float[src.length];
    for (int y = 0; y < h; y++) {
      int row = y * w * c;
      for (int x = 0; x < w; x++) {
        int s = row + x * c;
        int d = row + (w - 1 - x) * c;
        for (int ch = 0; ch < c; ch++) {
          out[d + ch] = src[s + ch];
        }
      }
    }
    return Image.wrap(h, w, c, out);
  }

  @Override
  public boolean isGeometric() {
    return true;
  }

  @Override
  public String toString() {
    return "HorizontalFlip(p=" + p + ")";
  }
}
