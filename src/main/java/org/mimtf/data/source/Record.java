package org.mimtf.data.source;

import org.mimtf.data.Image;

/**
 * One example as read from a {@link Source}: either still-encoded image bytes (JPEG/PNG from a
 * folder or a TFRecord) or already-decoded pixels (IDX files), plus its class label.
 *
 * @param index position of the example in its source, 0-based
 * @param origin where it came from, for error messages: a path, {@code path@offset} for a TFRecord
 *     record, {@code path#index} for an IDX image
 * @param encoded encoded image bytes, or null when {@code pixels} is set
 * @param pixels decoded pixels in [0, 1], or null when {@code encoded} is set
 * @param label class label, or -1 when the source has none
 */
public record Record(int index, String origin, byte[] encoded, Image pixels, int label) {
  public Record {
    if ((encoded == null) == (pixels == null)) {
      throw new IllegalArgumentException("exactly one of encoded and pixels must be set: " + origin);
    }
  }

  public static Record encoded(int index, String origin, byte[] bytes, int label) {
    return new Record(index, origin, bytes, null, label);
  }

  public static Record decoded(int index, String origin, Image pixels, int label) {
    return new Record(index, origin, null, pixels, label);
  }
}
