package org.mimtf.data.decode;

import static com.google.common.base.Preconditions.checkArgument;

import org.mimtf.config.proto.DataConfig;

/** Builds the {@link ImageDecoder} a recipe asks for ({@code data.decoder}). */
public final class ImageDecoders {
  private ImageDecoders() {}

  /**
   * The decoder for {@code kind}.
   *
   * @param workers number of pipeline workers that will call it concurrently (sizes the TF
   *     session's inter-op pool; ignored by the Java decoder)
   */
  public static ImageDecoder create(DataConfig.Decoder kind, int workers) {
    checkArgument(workers >= 1, "data.workers (%s) must be >= 1", workers);
    return switch (kind) {
      case TENSORFLOW -> new TfImageDecoder(workers);
      case JAVA -> new JavaImageDecoder();
    };
  }
}
