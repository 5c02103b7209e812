package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * Stochastic depth (timm {@code drop_path}): in training each example keeps a residual branch with
 * probability 1 − p, scaled by 1/(1 − p); at inference it is the identity. The keep draw is a
 * stateless random op seeded by a per-step seed the trainer feeds, so a resumed run draws the same
 * masks as an uninterrupted one.
 */
public final class DropPath {
  private DropPath() {}

  /**
   * Applies drop path to {@code branch} [B, ...] with rate {@code p}; {@code seed} [2] is the step's
   * seed (null at inference) and {@code salt} distinguishes the call sites.
   */
  public static Operand<TFloat32> apply(Ops tf, Operand<TFloat32> branch, float p, Operand<TInt64> seed, int salt,
      int rank) {
    if (p <= 0f || seed == null) {
      return branch;
    }
    Operand<TInt64> s = tf.math.add(seed, tf.constant(new long[] {0, 1_000_003L * (salt + 1)}));
    int[] shape = new int[rank];
    java.util.Arrays.fill(shape, 1);
    Operand<org.tensorflow.types.TInt32> batch = tf.slice(tf.shape(branch), tf.constant(new int[] {0}),
        tf.constant(new int[] {1}));
    Operand<org.tensorflow.types.TInt32> dims = tf.concat(java.util.List.of(batch,
        tf.constant(java.util.Arrays.copyOf(shape, rank - 1))), tf.constant(0));
    Operand<TFloat32> u = tf.random.statelessRandomUniform(dims, s, TFloat32.class);
    Operand<TFloat32> keep = tf.math.floor(tf.math.add(u, tf.constant(1f - p)));
    return tf.math.mul(branch, tf.math.div(keep, tf.constant(1f - p)));
  }
}
