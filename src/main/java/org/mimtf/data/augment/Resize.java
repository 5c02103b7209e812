package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.config.proto.Interpolation;
import org.mimtf.data.Image;

/**
 * torchvision {@code Resize(size)} with an int size: the shorter side becomes {@code size}, the longer
 * one {@code int(size * long / short)} (truncated, as torchvision's {@code
 * _compute_resized_output_size}); an image whose shorter side already equals {@code size} is returned
 * unchanged (torchvision's PIL path does the same). Used by the CCViT tokenizer's Resize(256) →
 * CenterCrop(224) preprocessing (ccvit.md §2).
 */
public final class Resize implements Augmentation {
  private final int size;
  private final Interpolation interpolation;

  public Resize(int size, Interpolation interpolation) {
    checkArgument(size > 0, "size (%s) must be > 0", size);
    checkArgument(interpolation != null, "interpolation must be set");
    this.size = size;
    this.interpolation = interpolation;
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    int h = in.height();
    int w = in.width();
    if ((w <= h && w == size) || (h <= w && h == size)) {
      return in;
    }
    int shortSide = Math.min(w, h);
    int longSide = Math.max(w, h);
    int newLong = (int) ((double) size * longSide / shortSide);
    int outW = w <= h ? size : newLong;
    int outH = w <= h ? newLong : size;
    return Resampler.resize(in, outH, outW, interpolation);
  }

  @Override
  public boolean isGeometric() {
    return true;
  }

  @Override
  public String toString() {
    return "Resize(" + size + ", " + interpolation + ")";
  }
}
