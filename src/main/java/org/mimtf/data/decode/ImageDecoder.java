package org.mimtf.data.decode;

import org.mimtf.data.Image;

/**
 * Turns encoded image bytes (JPEG, PNG, GIF, BMP) into an {@link Image} with a chosen channel
 * count.
 *
 * <p>The channel count is the caller's choice, not the file's: a data set mixes grayscale, palette,
 * RGBA and CMYK files, while a model has one input width. Decoders therefore convert every file to
 * {@code channels}: gray to RGB by replication, RGB to gray with the ITU-R 601 luma weights
 * 0.299/0.587/0.114 (what PIL's {@code convert('L')} and libjpeg use), alpha dropped, 16-bit
 * samples reduced to 8 bits. The output is {@code value / 255} in [0, 1], as {@link
 * Image#fromBytes}.
 *
 * <p>Implementations are safe to call from several pipeline workers at once and hold native or
 * pooled resources, hence {@link AutoCloseable}.
 */
public interface ImageDecoder extends AutoCloseable {
  /**
   * Decodes {@code bytes} to an image of {@code channels} (1 or 3) channels.
   *
   * @param origin where the bytes came from ({@code path} or {@code shard@offset}), used only for
   *     the error message
   * @throws org.mimtf.data.BadInputException if the bytes are not a decodable image; the message
   *     names {@code origin} and says why
   * @throws IllegalArgumentException if {@code channels} is not 1 or 3
   */
  Image decode(byte[] bytes, int channels, String origin);

  /** Releases native resources; no exception is thrown. */
  @Override
  void close();
}
