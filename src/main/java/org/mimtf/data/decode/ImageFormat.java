package org.mimtf.data.decode;

import org.mimtf.data.BadInputException;

/**
 * The encoded image formats that both decoders read, recognised by their leading bytes.
 *
 * <p>Content, not the file name, decides: image collections are full of {@code .jpg} files that are
 * really PNGs (and of {@code Thumbs.db}, {@code .txt} notes and partial downloads). Sniffing the
 * magic bytes lets a folder source skip non-images and lets a decoder pick the right kernel without
 * trusting the extension.
 */
public enum ImageFormat {
  /**
   * JFIF/Exif/Adobe JPEG: starts with an SOI marker followed by another marker, {@code FF D8 FF}.
   */
  JPEG,
  /** PNG: the 8-byte signature {@code 89 'P' 'N' 'G' 0D 0A 1A 0A}. */
  PNG,
  /** GIF87a or GIF89a. */
  GIF,
  /** Windows bitmap: {@code 'B' 'M'} and a known DIB header size at offset 14. */
  BMP;

  /** How many leading bytes {@link #detect(byte[], int)} needs to recognise every format. */
  public static final int SNIFF_BYTES = 18;

  /** The format of {@code bytes}, or null when it is none of the known formats. */
  public static ImageFormat detect(byte[] bytes) {
    return detect(bytes, bytes.length);
  }

  /**
   * The format of the first {@code length} bytes of {@code head} (at most {@link #SNIFF_BYTES} are
   * looked at), or null when they are none of the known formats.
   */
  public static ImageFormat detect(byte[] head, int length) {
    int n = Math.min(length, head.length);
    if (n >= 3 && u(head, 0) == 0xFF && u(head, 1) == 0xD8 && u(head, 2) == 0xFF) {
      return JPEG;
    }
    if (n >= 8
        && u(head, 0) == 0x89
        && head[1] == 'P'
        && head[2] == 'N'
        && head[3] == 'G'
        && head[4] == 0x0D
        && head[5] == 0x0A
        && head[6] == 0x1A
        && head[7] == 0x0A) {
      return PNG;
    }
    if (n >= 6
        && head[0] == 'G'
        && head[1] == 'I'
        && head[2] == 'F'
        && head[3] == '8'
        && (head[4] == '7' || head[4] == '9')
        && head[5] == 'a') {
      return GIF;
    }
    // "BM" alone would match any text file starting with "BM"; the DIB header size (a little-endian
    // uint32 at offset 14) takes one of a few values (OS/2 core 12, BITMAPINFOHEADER 40, V2 52,
    // V3 56, OS/2 v2 64, V4 108, V5 124).
    if (n >= 18 && head[0] == 'B' && head[1] == 'M') {
      long dib = u(head, 14) | u(head, 15) << 8 | u(head, 16) << 16 | (long) u(head, 17) << 24;
      if (dib == 12
          || dib == 40
          || dib == 52
          || dib == 56
          || dib == 64
          || dib == 108
          || dib == 124) {
        return BMP;
      }
    }
    return null;
  }

  /**
   * The format of {@code bytes}, which a decoder is about to decode.
   *
   * @throws BadInputException naming {@code origin} when they are none of the known formats
   */
  static ImageFormat detectOrThrow(byte[] bytes, String origin) {
    ImageFormat format = detect(bytes);
    if (format == null) {
      throw new BadInputException(
          origin, "not a decodable image (not JPEG, PNG, GIF or BMP: " + describeHead(bytes) + ")");
    }
    return format;
  }

  /** The first bytes in hex, for error messages about content that is not an image. */
  static String describeHead(byte[] bytes) {
    if (bytes.length == 0) {
      return "empty (0 bytes)";
    }
    StringBuilder sb = new StringBuilder("starts with");
    for (int i = 0; i < Math.min(8, bytes.length); i++) {
      sb.append(String.format(" %02x", bytes[i] & 0xff));
    }
    return sb.append(", ").append(bytes.length).append(" bytes").toString();
  }

  private static int u(byte[] b, int i) {
    return b[i] & 0xff;
  }
}
