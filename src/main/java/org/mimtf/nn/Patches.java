package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Conversions between NHWC images and patch vectors. Every patch vector is flattened in
 * <b>(c, py, px)</b> order — channel-major, as a PyTorch conv weight (D, C, P, P) reads its input —
 * so tokenizer centroids, pixel replacement, pixel targets and the patch embedding all agree
 * (common-vit.md §1, ccvit.md §9).
 */
public final class Patches {
  private Patches() {}

  /** [B, H, W, C] → [B, N, C·P·P], patches in row-major grid order. */
  public static Operand<TFloat32> patchify(Ops tf, Operand<TFloat32> images, int imageSize, int patch, int channels) {
    int g = imageSize / patch;
    Operand<TFloat32> x = tf.reshape(images, tf.constant(new int[] {-1, g, patch, g, patch, channels}));
    // [B, gy, py, gx, px, c] -> [B, gy, gx, c, py, px]
    x = tf.linalg.transpose(x, tf.constant(new int[] {0, 1, 3, 5, 2, 4}));
    return tf.reshape(x, tf.constant(new int[] {-1, g * g, channels * patch * patch}));
  }

  /** Inverse of {@link #patchify}: [B, N, C·P·P] → [B, H, W, C]. */
  public static Operand<TFloat32> unpatchify(Ops tf, Operand<TFloat32> patches, int imageSize, int patch,
      int channels) {
    int g = imageSize / patch;
    Operand<TFloat32> x = tf.reshape(patches, tf.constant(new int[] {-1, g, g, channels, patch, patch}));
    // [B, gy, gx, c, py, px] -> [B, gy, py, gx, px, c]
    x = tf.linalg.transpose(x, tf.constant(new int[] {0, 1, 4, 2, 5, 3}));
    return tf.reshape(x, tf.constant(new int[] {-1, imageSize, imageSize, channels}));
  }
}
