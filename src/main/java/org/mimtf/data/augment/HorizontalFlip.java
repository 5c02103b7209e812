package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/** torchvision {@code RandomHorizontalFlip(p)}: mirror left-right when {@code U[0,1) < p}. */
public final class HorizontalFlip implements InPlaceOp {
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

  @Override
  public boolean applyInPlace(Image img, RandomGenerator rng) {
    if (!(rng.nextDouble() < p)) {
      return false;
    }
    flipInPlace(img);
    return true;
  }

  /** The mirror image (column x becomes column W - 1 - x). */
  public static Image flip(Image in) {
    Image out = Image.wrap(in.height(), in.width(), in.channels(), in.data().clone());
    flipInPlace(out);
    return out;
  }

  private static void flipInPlace(Image img) {
    int h = img.height();
    int w = img.width();
    int c = img.channels();
    float[] px = img.data();
    for (int y = 0; y < h; y++) {
      int a = y * w * c;
      int b = a + (w - 1) * c;
      if (c == 3) {
        for (; a < b; a += 3, b -= 3) {
          float t0 = px[a];
          float t1 = px[a + 1];
          float t2 = px[a + 2];
          px[a] = px[b];
          px[a + 1] = px[b + 1];
          px[a + 2] = px[b + 2];
          px[b] = t0;
          px[b + 1] = t1;
          px[b + 2] = t2;
        }
      } else {
        for (; a < b; a += c, b -= c) {
          for (int ch = 0; ch < c; ch++) {
            float t = px[a + ch];
            px[a + ch] = px[b + ch];
            px[b + ch] = t;
          }
        }
      }
    }
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
