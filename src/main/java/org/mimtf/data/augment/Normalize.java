package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;
import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * torchvision {@code Normalize(mean, std)}: {@code (x - mean[c]) / std[c]} per channel.
 *
 * <p>With no mean/std given it uses the ImageNet statistics for 3-channel images and 0.5 / 0.5 for
 * other channel counts, the same convention as the recipe's {@code model.input_mean} (common-vit.md
 * §14: every BEiT-family recipe and MOCA use the ImageNet default). A single value is broadcast to all
 * channels.
 */
public final class Normalize implements InPlaceOp {
  public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
  public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

  private final float[] mean;
  private final float[] std;

  /**
   * @param mean per-channel means (1 or C values), or empty for the default
   * @param std per-channel standard deviations, same length as {@code mean}, all &gt; 0
   */
  public Normalize(float[] mean, float[] std) {
    checkArgument(
        mean.length == std.length,
        "mean (%s values) and std (%s values) must have the same length",
        mean.length,
        std.length);
    for (float s : std) {
      checkArgument(s > 0, "std (%s) must be > 0", Arrays.toString(std));
    }
    this.mean = mean.clone();
    this.std = std.clone();
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    float[] out = new float[in.data().length];
    normalize(in, out);
    return Image.wrap(in.height(), in.width(), in.channels(), out);
  }

  @Override
  public boolean applyInPlace(Image img, RandomGenerator rng) {
    normalize(img, img.data());
    return true;
  }

  private void normalize(Image in, float[] out) {
    int c = in.channels();
    float[] m;
    float[] s;
    if (mean.length == 0) {
      m = c == 3 ? IMAGENET_MEAN : new float[] {0.5f};
      s = c == 3 ? IMAGENET_STD : new float[] {0.5f};
    } else {
      checkArgument(
          mean.length == 1 || mean.length == c,
          "normalize has %s mean/std values but the image has %s channels",
          mean.length,
          c);
      m = mean;
      s = std;
    }
    // Per-position mean/std patterns for one image row, so that the loop over a row is a plain
    // element-wise (x - m[i]) / s[i] that the JIT vectorises despite the interleaved channels.
    int rowLen = in.width() * c;
    float[] mr = new float[rowLen];
    float[] sr = new float[rowLen];
    for (int i = 0; i < rowLen; i++) {
      mr[i] = m.length == 1 ? m[0] : m[i % c];
      sr[i] = s.length == 1 ? s[0] : s[i % c];
    }
    float[] src = in.data();
    for (int o = 0; o < src.length; o += rowLen) {
      for (int i = 0; i < rowLen; i++) {
        out[o + i] = (src[o + i] - mr[i]) / sr[i];
      }
    }
  }

  @Override
  public boolean isGeometric() {
    return false;
  }

  @Override
  public String toString() {
    return mean.length == 0
        ? "Normalize(default)"
        : "Normalize(mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")";
  }
}
