package org.mimtf.data.decode;

/**
 * Reads the component count from a JPEG's frame header without decoding it. The TF decoder uses it
 * to decode 1-component files directly to gray (everything else goes through RGB), the Java decoder
 * to refuse 4-component (CMYK/YCCK) files, which javax.imageio cannot read, with a clear message.
 */
final class JpegInfo {
  private JpegInfo() {}

  /**
   * Number of components in the first SOF segment (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK), or -1 when
   * the marker stream is malformed or ends before a frame header (the decoder will then report the
   * error).
   */
  static int components(byte[] b) {
    int i = 2; // after SOI
    while (i + 3 < b.length) {
      if ((b[i] & 0xff) != 0xFF) {
        return -1;
      }
      int marker = b[i + 1] & 0xff;
      if (marker == 0xFF) { // fill byte
        i++;
        continue;
      }
      if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
        i += 2; // markers without a length
        continue;
      }
      if (marker == 0xD9 || marker == 0xDA) {
        return -1; // EOI or start of scan before any frame header
      }
      int length = (b[i + 2] & 0xff) << 8 | (b[i + 3] & 0xff);
      boolean sof =
          marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
      if (sof) {
        // FF Cn, length(2), precision(1), height(2), width(2), components(1)
        return i + 9 < b.length ? b[i + 9] & 0xff : -1;
      }
      if (length < 2) {
        return -1;
      }
      i += 2 + length;
    }
    return -1;
  }
}
