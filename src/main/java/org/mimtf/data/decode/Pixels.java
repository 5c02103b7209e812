package org.mimtf.data.decode;

/**
 * Channel conversion of 8-bit HWC pixels, shared by both decoders so that they agree to the last
 * bit wherever the underlying codec returns the same samples.
 */
final class Pixels {
  private Pixels() {}

  /**
   * Converts {@code pixels} with {@code from} channels per pixel (1 gray, 2 gray+alpha, 3 RGB, 4
   * RGBA) to {@code to} channels (1 or 3). Returns {@code pixels} itself when nothing changes.
   *
   * <p>RGB to gray uses Pillow's fixed-point ITU-R 601 luma, {@code (19595 R + 38470 G + 7471 B +
   * 2^15) >> 16}, so gray images match PIL's {@code convert('L')} exactly; alpha is dropped, not
   * composited (that is what TensorFlow's decoders do, and compositing needs a background colour
   * nobody agrees on).
   */
  static byte[] convert(byte[] pixels, int from, int to) {
    if (from == to) {
      return pixels;
    }
    int n = pixels.length / from;
    byte[] out = new byte[n * to];
    if (to == 3) {
      if (from <= 2) {
        for (int i = 0, s = 0, d = 0; i < n; i++, s += from, d += 3) {
          byte g = pixels[s];
          out[d] = g;
          out[d + 1] = g;
          out[d + 2] = g;
        }
      } else {
        for (int i = 0, s = 0, d = 0; i < n; i++, s += from, d += 3) {
          out[d] = pixels[s];
          out[d + 1] = pixels[s + 1];
          out[d + 2] = pixels[s + 2];
        }
      }
    } else if (from <= 2) {
      for (int i = 0, s = 0; i < n; i++, s += from) {
        out[i] = pixels[s];
      }
    } else {
      for (int i = 0, s = 0; i < n; i++, s += from) {
        out[i] = luma(pixels[s] & 0xff, pixels[s + 1] & 0xff, pixels[s + 2] & 0xff);
      }
    }
    return out;
  }

  /** Pillow's {@code L24}: ITU-R 601 luma in 16-bit fixed point, rounded. */
  static byte luma(int r, int g, int b) {
    return (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
  }
}
