package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.config.proto.Interpolation;
import org.mimtf.data.Image;

/**
 * torchvision 0.14 {@code RandomResizedCrop} (also timm's and BEiT's {@code
 * RandomResizedCropAndInterpolationWithTwoPic}, which share the box sampling; common-vit.md §15).
 *
 * <p>Box sampling ({@code get_params}), reproduced exactly because it defines the crop distribution:
 * up to 10 attempts of {@code area = U(scale) * H * W}, {@code r = exp(U(log ratio))}, {@code w =
 * round(sqrt(area * r))}, {@code h = round(sqrt(area / r))} (round half to even); accepted when {@code
 * 0 < w <= W} and {@code 0 < h <= H}, with {@code top = randint(0, H - h)} and {@code left =
 * randint(0, W - w)} inclusive. If all attempts fail: a centre crop of the whole image, narrowed to the
 * nearest aspect ratio inside the ratio range. The box is then resized to {@code size x size} with
 * PIL's antialiasing resampler ({@link Resampler}).
 */
public final class RandomResizedCrop implements Augmentation {
  static final int ATTEMPTS = 10;

  private final int size;
  private final double minScale;
  private final double maxScale;
  private final double minRatio;
  private final double maxRatio;
  private final double logMinRatio;
  private final double logMaxRatio;
  private final Interpolation interpolation;

  public RandomResizedCrop(
      int size,
      double minScale,
      double maxScale,
      double minRatio,
      double maxRatio,
      Interpolation interpolation) {
    checkArgument(size > 0, "size (%s) must be > 0", size);
    checkArgument(minScale > 0, "min_scale (%s) must be > 0", minScale);
    checkArgument(
        maxScale >= minScale, "max_scale (%s) must be >= min_scale (%s)", maxScale, minScale);
    checkArgument(minRatio > 0, "min_ratio (%s) must be > 0", minRatio);
    checkArgument(
        maxRatio >= minRatio, "max_ratio (%s) must be >= min_ratio (%s)", maxRatio, minRatio);
    checkArgument(interpolation != null, "interpolation must be set");
    this.size = size;
    this.minScale = minScale;
    this.maxScale = maxScale;
    this.minRatio = minRatio;
    this.maxRatio = maxRatio;
    this.logMinRatio = Math.log(minRatio);
    this.logMaxRatio = Math.log(maxRatio);
    this.interpolation = interpolation;
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    CropBox box = sampleBox(in.height(), in.width(), rng);
    return Resampler.resize(in, box, size, size, interpolation);
  }

  /** torchvision {@code RandomResizedCrop.get_params} for an image of {@code height x width}. */
  public CropBox sampleBox(int height, int width, RandomGenerator rng) {
    double area = (double) height * width;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      double targetArea = area * (minScale + (maxScale - minScale) * rng.nextDouble());
      double ratio = Math.exp(logMinRatio + (logMaxRatio - logMinRatio) * rng.nextDouble());
      int w = (int) Math.rint(Math.sqrt(targetArea * ratio));
      int h = (int) Math.rint(Math.sqrt(targetArea / ratio));
      if (0 < w && w <= width && 0 < h && h <= height) {
        int top = rng.nextInt(height - h + 1);
        int left = rng.nextInt(width - w + 1);
        return new CropBox(top, left, h, w);
      }
    }
    return fallbackBox(height, width);
  }

  /**
   * The deterministic fallback after 10 failed attempts: the whole image if its aspect ratio is in
   * range, else the largest centred box with the nearest allowed ratio. (Clamped to at least one
   * pixel, where torchvision would fail on degenerate 1-pixel-wide inputs.)
   */
  CropBox fallbackBox(int height, int width) {
    double inRatio = (double) width / height;
    int w;
    int h;
    if (inRatio < minRatio) {
      w = width;
      h = Math.max(1, (int) Math.rint(w / minRatio));
    } else if (inRatio > maxRatio) {
      h = height;
      w = Math.max(1, (int) Math.rint(h * maxRatio));
    } else {
      w = width;
      h = height;
    }
    return new CropBox((height - h) / 2, (width - w) / 2, h, w);
  }

  public int size() {
    return size;
  }

  public Interpolation interpolation() {
    return interpolation;
  }

  @Override
  public boolean isGeometric() {
    return true;
  }

  @Override
  public String toString() {
    return String.format(
        "RandomResizedCrop(size=%d, scale=[%s, %s], ratio=[%s, %s], %s)",
        size, minScale, maxScale, minRatio, maxRatio, interpolation);
  }
}
