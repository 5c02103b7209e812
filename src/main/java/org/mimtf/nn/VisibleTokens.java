package org.mimtf.nn;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gather;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Per-sample token selection for visible-token encoders and partial decoders (MAE, MOCA): a token
 * order [B, N] (a permutation of the patch indices per sample) is cut into the encoder's visible
 * tokens {@code order[:, 0:keep]} and the decoder's tokens {@code order[:, 0:dec]}; tokens are
 * gathered per sample in that order and scattered back to their grid positions.
 */
public final class VisibleTokens {
  private VisibleTokens() {}

  /** {@code order[:, from:to]} of an order [B, N] (static bounds). */
  public static Operand<TInt32> slice(Ops tf, Operand<TInt32> order, int from, int to) {
    return tf.slice(order, tf.constant(new int[] {0, from}), tf.constant(new int[] {-1, to - from}));
  }

  /**
   * Copy {@code copy} of a per-view order field [B, C, N] (the pipeline writes one order per student
   * view) as [B, N].
   */
  public static Operand<TInt32> copy(Ops tf, Operand<TInt32> orders, int copy) {
    long n = orders.shape().get(2);
    Operand<TInt32> one = tf.slice(orders, tf.constant(new int[] {0, copy, 0}), tf.constant(new int[] {-1, 1, -1}));
    return tf.reshape(one, tf.constant(new long[] {-1, n}));
  }

  /** {@code x[b, idx[b, k], :]}: tokens [B, N, D] gathered per sample at {@code idx} [B, K] → [B, K, D]. */
  public static Operand<TFloat32> gather(Ops tf, Operand<TFloat32> x, Operand<TInt32> idx) {
    return tf.gather(x, idx, tf.constant(1), Gather.batchDims(1L));
  }

  /**
   * The inverse of {@link #gather} for distinct indices: {@code y} [B, K, D] written at positions
   * {@code idx} [B, K] of a [B, n, D] tensor that is zero elsewhere (differentiable: ScatterNd).
   */
  public static Operand<TFloat32> scatter(Ops tf, Operand<TFloat32> y, Operand<TInt32> idx, int n) {
    Operand<TInt32> shape = tf.shape(idx);
    Operand<TInt32> b = tf.slice(shape, tf.constant(new int[] {0}), tf.constant(new int[] {1}));
    Operand<TInt32> rows = tf.range(tf.constant(0), tf.squeeze(b), tf.constant(1));
    Operand<TInt32> batchIdx = tf.broadcastTo(tf.expandDims(rows, tf.constant(1)), shape);
    Operand<TInt32> nd = tf.stack(List.of(batchIdx, idx), org.tensorflow.op.core.Stack.axis(2L));
    Operand<TInt32> d = tf.slice(tf.shape(y), tf.constant(new int[] {2}), tf.constant(new int[] {1}));
    Operand<TInt32> out = tf.concat(List.of(b, tf.constant(new int[] {n}), d), tf.constant(0));
    return tf.scatterNd(nd, y, out);
  }

  /** Boolean [B, n], true at the positions listed in {@code idx} [B, K]. */
  public static Operand<TBool> mask(Ops tf, Operand<TInt32> idx, int n) {
    Operand<TFloat32> hot = tf.oneHot(idx, tf.constant(n), tf.constant(1f), tf.constant(0f));
    return tf.math.greater(tf.reduceMax(hot, tf.constant(1)), tf.constant(0f));
  }
}
