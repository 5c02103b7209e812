package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * timm's {@code RandomErasing} (Zhong et al., "Random Erasing Data Augmentation", 2017), as BEiT,
 * BEiT v2 and the other papers' fine-tuning recipes use it ({@code --reprob 0.25 --remode pixel
 * --recount 1}).
 *
 * <p>With probability p the op draws {@code count} boxes ({@code max_count} when it is 1, else
 * uniform in [1, max_count], as timm with {@code min_count = 1}). For each box, up to 10 attempts:
 * target area {@code uniform(min_area, max_area) * H * W / count}, aspect {@code
 * exp(uniform(log min_aspect, log max_aspect))}, {@code h = round(sqrt(area * aspect))}, {@code w =
 * round(sqrt(area / aspect))}; the first attempt with {@code h < H} and {@code w < W} is placed at a
 * uniform top-left corner and filled. Pixels outside the boxes are never touched.
 *
 * <p>Fill: timm works on the normalised tensor and writes N(0, 1) noise per pixel ({@code pixel})
 * or 0 ({@code const}). mimtf images are usually in [0, 1] and normalised inside the model, so the
 * fill is {@code mean + std * N(0, 1)} resp. {@code mean} per channel, which equals timm's fill once
 * the model normalises with the same mean/std (mean 0, std 1: the image's own space).
 */
public final class RandomErasing implements Augmentation {
  /** How erased pixels are filled. */
  public enum Mode {
    /** Independent normal noise per pixel and channel (timm {@code remode='pixel'}). */
    PIXEL,
    /** The constant 0 of the normalised space (timm {@code remode='const'}). */
    CONST
  }

  private static final int ATTEMPTS = 10;

  private final double p;
  private final double minArea;
  private final double maxArea;
  private final double minAspect;
  private final double maxAspect;
  private final double logMinAspect;
  private final double logMaxAspect;
  private final Mode mode;
  private final int maxCount;
  private final float[] mean;
  private final float[] std;

  /**
   * @param maxAspect 0 means {@code 1 / minAspect} (timm's default)
   * @param mean per-channel fill centre (length 0, 1 or the image's channels; empty = 0)
   * @param std per-channel noise scale (length 0, 1 or the image's channels; empty = 1)
   */
  public RandomErasing(
      double p,
      double minArea,
      double maxArea,
      double minAspect,
      double maxAspect,
      Mode mode,
      int maxCount,
      float[] mean,
      float[] std) {
    checkArgument(p >= 0 && p <= 1, "p (%s) must be in [0, 1]", p);
    checkArgument(
        minArea > 0 && minArea <= maxArea && maxArea <= 1,
        "area range (%s, %s) must satisfy 0 < min_area <= max_area <= 1",
        minArea,
        maxArea);
    checkArgument(minAspect > 0, "min_aspect (%s) must be > 0", minAspect);
    double hi = maxAspect == 0 ? 1 / minAspect : maxAspect;
    checkArgument(hi >= minAspect, "max_aspect (%s) must be >= min_aspect (%s)", hi, minAspect);
    checkArgument(maxCount >= 1, "max_count (%s) must be >= 1", maxCount);
    checkArgument(mean.length <= 3 && std.length <= 3, "mean/std have at most 3 values");
    for (float s : std) {
      checkArgument(s > 0, "std (%s) must be > 0", s);
    }
    this.p = p;
    this.minArea = minArea;
    this.maxArea = maxArea;
    this.minAspect = minAspect;
    this.maxAspect = hi;
    this.logMinAspect = Math.log(minAspect);
    this.logMaxAspect = Math.log(hi);
    this.mode = mode;
    this.maxCount = maxCount;
    this.mean = mean.clone();
    this.std = std.clone();
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    if (!(rng.nextDouble() < p)) {
      return in;
    }
    int hImg = in.height();
    int wImg = in.width();
    int c = in.channels();
    checkArgument(
        mean.length <= 1 || mean.length == c, "mean has %s values for %s channels", mean.length, c);
    checkArgument(
        std.length <= 1 || std.length == c, "std has %s values for %s channels", std.length, c);
    float[] out = in.data().clone();
    double area = (double) hImg * wImg;
    int count = maxCount == 1 ? 1 : 1 + rng.nextInt(maxCount);
    for (int b = 0; b < count; b++) {
      for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
        double target = uniform(rng, minArea, maxArea) * area / count;
        double aspect = Math.exp(uniform(rng, logMinAspect, logMaxAspect));
        int h = (int) Math.round(Math.sqrt(target * aspect));
        int w = (int) Math.round(Math.sqrt(target / aspect));
        if (w < wImg && h < hImg) {
          int top = rng.nextInt(hImg - h + 1);
          int left = rng.nextInt(wImg - w + 1);
          fill(out, wImg, c, top, left, h, w, rng);
          break;
        }
      }
    }
    return Image.wrap(hImg, wImg, c, out);
  }

  private void fill(
      float[] px, int wImg, int c, int top, int left, int h, int w, RandomGenerator rng) {
    for (int y = top; y < top + h; y++) {
      for (int x = left; x < left + w; x++) {
        int base = (y * wImg + x) * c;
        for (int k = 0; k < c; k++) {
          float m = mean.length == 0 ? 0f : mean[mean.length == 1 ? 0 : k];
          float s = std.length == 0 ? 1f : std[std.length == 1 ? 0 : k];
          px[base + k] = mode == Mode.PIXEL ? (float) (m + s * rng.nextGaussian()) : m;
        }
      }
    }
  }

  private static double uniform(RandomGenerator rng, double a, double b) {
    return a + (b - a) * rng.nextDouble();
  }

  @Override
  public boolean isGeometric() {
    return false;
  }

  @Override
  public String toString() {
    return "RandomErasing(p=" + p + ", area=[" + minArea + ", " + maxArea + "], aspect=["
        + minAspect + ", " + maxAspect + "], mode=" + mode
        + ", max_count=" + maxCount + ")";
  }
}
