package org.mimtf.data.source;

import java.util.zip.CRC32C;

/**
 * The TFRecord framing, shared by {@link TfRecordWriter} and {@link TfRecordReader}.
 *
 * <p>Each record is {@code uint64 length (LE) | uint32 masked CRC32C(length bytes) | data[length] |
 * uint32 masked CRC32C(data)}. The length has its own CRC so that a reader can index a shard by
 * hopping from header to header without reading the data, and still trust every hop.
 *
 * <p>CRCs are "masked" (rotated and offset) because, as TensorFlow's {@code crc32c.h} explains,
 * computing the CRC of a string that itself contains embedded CRCs is problematic; the mask makes a
 * stored CRC look unlike the CRC of its surroundings.
 */
public final class TfRecordFormat {
  /** Bytes before the data: length (8) and its masked CRC (4). */
  public static final int HEADER_BYTES = 12;

  /** Bytes after the data: the data's masked CRC. */
  public static final int FOOTER_BYTES = 4;

  private static final int MASK_DELTA = 0xa282ead8;

  private TfRecordFormat() {}

  /** The masked CRC32C of {@code bytes[offset, offset + length)}. */
  public static int maskedCrc32c(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    return mask((int) crc.getValue());
  }

  /** The masked CRC32C of all of {@code bytes}. */
  public static int maskedCrc32c(byte[] bytes) {
    return maskedCrc32c(bytes, 0, bytes.length);
  }

  /** TensorFlow's {@code crc32c::Mask}: rotate right by 15 bits and add a constant. */
  public static int mask(int crc) {
    return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
  }

  /** The inverse of {@link #mask}. */
  public static int unmask(int masked) {
    int rot = masked - MASK_DELTA;
    return (rot >>> 17) | (rot << 15);
  }
}
