package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * torchvision {@code CenterCrop(size)}: offsets {@code round((H - size) / 2)} (half to even) and the
 * same for the width; an image smaller than the crop is first zero-padded with {@code (size - H) // 2}
 * rows on top and the rest at the bottom (likewise for columns), as {@code F.center_crop} does.
 */
public final class CenterCrop implements Augmentation {
  private final int size;

  public CenterCrop(int size) {
    checkArgument(size > 0, "size (%s) must be > 0", size);
    this.size = size;
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    int h = in.height();
    int w = in.width();
    if (h == size && w == size) {
      return in;
    }
    // Top-left corner of the crop in input coordinates; negative where the image is padded.
    int top = size > h ? -((size - h) / 2) : (int) Math.rint((h - size) / 2.0);
    int left = size > w ? -((size - w) / 2) : (int) Math.rint((w - size) / 2.0);
    int c = in.channels();
    float[] out = new float[size * size * c];
    if (size <= h && size <= w) {
      Resampler.copyRect(in.data(), w * c, top, left * c, size, size * c, out);
      return Image.wrap(size, size, c, out);
    }
    float[] src = in.data();
    int x0 = Math.max(0, -left);
    int x1 = Math.min(size, w - left);
    for (int y = 0; y < size; y++) {
      int sy = y + top;
      if (sy < 0 || sy >= h || x1 <= x0) {
        continue;
      }
      System.arraycopy(src, (sy * w + x0 + left) * c, out, (y * size + x0) * c, (x1 - x0) * c);
    }
    return Image.wrap(size, size, c, out);
  }

  @Override
  public boolean isGeometric() {
    return true;
  }

  @Override
  public String toString() {
    return "CenterCrop(" + size + ")";
  }
}
