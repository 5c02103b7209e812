package org.mimtf.data;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * An image as 32-bit floats in height-width-channel (HWC) row-major order, values nominally in [0, 1].
 *
 * <p>This is the currency of the input pipeline: decoders produce it, augmentations map it to a new
 * one, and the batcher copies it into a batch tensor in one bulk copy. The array is exposed for speed
 * (augmentations run inner loops over it); treat an {@code Image} as immutable once it has been
 * handed to someone else.
 */
public final class Image {
  private final int height;
  private final int width;
  private final int channels;
  private final float[] data;

  private Image(int height, int width, int channels, float[] data) {
    this.height = height;
    this.width = width;
    this.channels = channels;
    this.data = data;
  }

  /** Wraps {@code data} (not copied); its length must be {@code height * width * channels}. */
  public static Image wrap(int height, int width, int channels, float[] data) {
    checkArgument(height > 0 && width > 0, "image size (%sx%s) must be positive", height, width);
    checkArgument(channels == 1 || channels == 3, "channels (%s) must be 1 or 3", channels);
    checkArgument(
        data.length == height * width * channels,
        "data length (%s) must equal height*width*channels (%s)",
        data.length,
        height * width * channels);
    return new Image(height, width, channels, data);
  }

  /** A new zero-filled image. */
  public static Image zeros(int height, int width, int channels) {
    return wrap(height, width, channels, new float[height * width * channels]);
  }

  /** Converts 8-bit HWC pixels to [0, 1] floats (value / 255, as torchvision's ToTensor). */
  public static Image fromBytes(int height, int width, int channels, byte[] pixels) {
    float[] f = new float[pixels.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = (pixels[i] & 0xff) * (1f / 255f);
    }
    return wrap(height, width, channels, f);
  }

  public int height() {
    return height;
  }

  public int width() {
    return width;
  }

  public int channels() {
    return channels;
  }

  /** The backing array (not a copy). */
  public float[] data() {
    return data;
  }

  /** Value at row y, column x, channel c. */
  public float get(int y, int x, int c) {
    return data[(y * width + x) * channels + c];
  }

  @Override
  public String toString() {
    return "Image[" + height + "x" + width + "x" + channels + "]";
  }
}
