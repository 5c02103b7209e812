package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * {@code RandomApply(ColorJitter(brightness, contrast, saturation, hue), p)} with torchvision 0.14
 * semantics (common-vit.md §15; conmim.md §2 and moca.md §3 use it with p = 0.8).
 *
 * <p>Per call: the order {@code fn_idx = randperm(4)} is drawn first, then the factors brightness,
 * contrast, saturation from {@code U[max(0, 1 - x), 1 + x]} and hue from {@code U[-h, h]} (in that
 * order). A sub-transform whose parameter is 0 is disabled (torchvision stores {@code None}) and
 * draws nothing. The ops ({@link ColorOps}) are then applied in the drawn order; the order matters
 * because each op clamps to [0, 1] and contrast depends on the current mean.
 */
public final class ColorJitter implements InPlaceOp {
  /** Op ids in {@link Params#order()}, as torchvision's {@code fn_id}. */
  public static final int BRIGHTNESS = 0;

  public static final int CONTRAST = 1;
  public static final int SATURATION = 2;
  public static final int HUE = 3;

  private final double brightness;
  private final double contrast;
  private final double saturation;
  private final double hue;
  private final double p;

  /**
   * @param brightness jitter strength x &gt;= 0: factor from [max(0, 1-x), 1+x]; 0 disables it
   * @param contrast likewise
   * @param saturation likewise
   * @param hue strength h in [0, 0.5]: shift from [-h, h]
   * @param p probability of applying the jitter at all
   */
  public ColorJitter(double brightness, double contrast, double saturation, double hue, double p) {
    checkArgument(brightness >= 0, "brightness (%s) must be >= 0", brightness);
    checkArgument(contrast >= 0, "contrast (%s) must be >= 0", contrast);
    checkArgument(saturation >= 0, "saturation (%s) must be >= 0", saturation);
    checkArgument(hue >= 0 && hue <= 0.5, "hue (%s) must be in [0, 0.5]", hue);
    checkArgument(p >= 0 && p <= 1, "p (%s) must be in [0, 1]", p);
    this.brightness = brightness;
    this.contrast = contrast;
    this.saturation = saturation;
    this.hue = hue;
    this.p = p;
  }

  /**
   * The drawn parameters of one application.
   *
   * @param order a permutation of {0, 1, 2, 3} ({@link #BRIGHTNESS} ... {@link #HUE})
   * @param brightness factor, or NaN when the sub-transform is disabled (likewise for the others)
   */
  public record Params(int[] order, float brightness, float contrast, float saturation, float hue) {}

  /** torchvision {@code ColorJitter.get_params}. */
  public Params sampleParams(RandomGenerator rng) {
    int[] order = {0, 1, 2, 3};
    for (int i = 0; i < 3; i++) {
      int j = i + rng.nextInt(4 - i);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    float b = factor(brightness, rng);
    float c = factor(contrast, rng);
    float s = factor(saturation, rng);
    float h = hue > 0 ? (float) (-hue + 2 * hue * rng.nextDouble()) : Float.NaN;
    return new Params(order, b, c, s, h);
  }

  private static float factor(double strength, RandomGenerator rng) {
    if (strength == 0) {
      return Float.NaN;
    }
    double lo = Math.max(0, 1 - strength);
    double hi = 1 + strength;
    return (float) (lo + (hi - lo) * rng.nextDouble());
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    Params params = draw(rng);
    return params == null ? in : apply(in, params);
  }

  @Override
  public boolean applyInPlace(Image img, RandomGenerator rng) {
    Params params = draw(rng);
    if (params == null) {
      return false;
    }
    run(img.data(), img.channels(), params);
    return true;
  }

  /** RandomApply: skipped when p &lt; U[0,1). With p = 1 nothing is drawn (plain ColorJitter). */
  private Params draw(RandomGenerator rng) {
    if (p < 1 && p < rng.nextDouble()) {
      return null;
    }
    return sampleParams(rng);
  }

  /** Applies fixed parameters (a copy of {@code in} is modified; {@code in} is not). */
  public static Image apply(Image in, Params params) {
    float[] px = in.data().clone();
    run(px, in.channels(), params);
    return Image.wrap(in.height(), in.width(), in.channels(), px);
  }

  private static void run(float[] px, int c, Params params) {
    for (int op : params.order()) {
      switch (op) {
        case BRIGHTNESS -> {
          if (!Float.isNaN(params.brightness())) {
            ColorOps.brightness(px, params.brightness());
          }
        }
        case CONTRAST -> {
          if (!Float.isNaN(params.contrast())) {
            ColorOps.contrast(px, c, params.contrast());
          }
        }
        case SATURATION -> {
          if (!Float.isNaN(params.saturation())) {
            ColorOps.saturation(px, c, params.saturation());
          }
        }
        case HUE -> {
          if (!Float.isNaN(params.hue())) {
            ColorOps.hue(px, c, params.hue());
          }
        }
        default -> throw new IllegalArgumentException("unknown color jitter op id " + op);
      }
    }
  }

  @Override
  public boolean isGeometric() {
    return false;
  }

  @Override
  public String toString() {
    return String.format(
        "ColorJitter(brightness=%s, contrast=%s, saturation=%s, hue=%s, p=%s)",
        brightness, contrast, saturation, hue, p);
  }
}
