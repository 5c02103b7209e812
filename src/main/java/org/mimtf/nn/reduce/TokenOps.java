package org.mimtf.nn.reduce;

import java.util.List;
import org.mimtf.nn.TokenState;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gather;
import org.tensorflow.op.core.StridedSlice;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TType;

/**
 * Index helpers shared by the token compression functions. Everything works on a dynamic batch B and
 * a static token count T; index computations carry no gradient (TopK, ArgMax produce int indices),
 * values move by {@code Gather} and {@code UnsortedSegmentSum}, which have gradients.
 */
final class TokenOps {
  private TokenOps() {}

  /** Per-example gather along axis 1: {@code x[b, idx[b, j], ...]}. */
  static <T extends TType> Operand<T> gather1(Ops tf, Operand<T> x, Operand<TInt32> idx) {
    return tf.gather(x, idx, tf.constant(1), Gather.batchDims(1L));
  }

  /** {@code x[:, start::2, ...]} for a tensor of rank ≥ 2. */
  static <T extends TType> Operand<T> everyOther(Ops tf, Operand<T> x, int start) {
    int rank = x.shape().numDimensions();
    int[] begin = new int[rank];
    int[] end = new int[rank];
    int[] strides = new int[rank];
    java.util.Arrays.fill(strides, 1);
    begin[1] = start;
    strides[1] = 2;
    long all = (1L << rank) - 1;
    return tf.stridedSlice(x, tf.constant(begin), tf.constant(end), tf.constant(strides),
        StridedSlice.beginMask(all & ~2L), StridedSlice.endMask(all));
  }

  /** {@code x[:, from:from+count, ...]}. */
  static <T extends TType> Operand<T> slice1(Ops tf, Operand<T> x, int from, int count) {
    int rank = x.shape().numDimensions();
    int[] begin = new int[rank];
    int[] size = new int[rank];
    java.util.Arrays.fill(size, -1);
    begin[1] = from;
    size[1] = count;
    return tf.slice(x, tf.constant(begin), tf.constant(size));
  }

  /** The batch size of {@code x} as a [1] vector. */
  static Operand<TInt32> batch(Ops tf, Operand<? extends TType> x) {
    return tf.slice(tf.shape(x), tf.constant(new int[] {0}), tf.constant(new int[] {1}));
  }

  /** A [B, values.length] int tensor with {@code values} in every row. */
  static Operand<TInt32> rows(Ops tf, int[] values, Operand<TInt32> batch) {
    return tf.broadcastTo(tf.constant(new int[][] {values}), tf.concat(List.of(batch,
        tf.constant(new int[] {values.length})), tf.constant(0)));
  }

  static int[] range(int from, int count) {
    int[] r = new int[count];
    for (int i = 0; i < count; i++) {
      r[i] = from + i;
    }
    return r;
  }

  /** Ascending sort of small non-negative ints [B, k] along the last axis (exact: values < 2^24). */
  static Operand<TInt32> sortAscending(Ops tf, Operand<TInt32> x, int k) {
    Operand<TFloat32> neg = tf.math.neg(tf.dtypes.cast(x, TFloat32.class));
    return tf.dtypes.cast(tf.math.neg(tf.nn.topK(neg, tf.constant(k), TInt32.class).values()), TInt32.class);
  }

  /**
   * The inverse of a per-example permutation [B, k] of 0…k−1: {@code inv[b, perm[b, j]] = j} (argsort;
   * TopK is stable, so ties cannot occur for a permutation anyway).
   */
  static Operand<TInt32> invert(Ops tf, Operand<TInt32> perm, int k) {
    return tf.nn.topK(tf.math.neg(tf.dtypes.cast(perm, TFloat32.class)), tf.constant(k), TInt32.class).indices();
  }

  /**
   * The new owner map after a reduction: {@code oldToNew} [B, T] gives each old token's new index
   * (−1 when it was deleted); patches owned by a deleted token become −1.
   */
  static Operand<TInt32> remapOwner(Ops tf, Operand<TInt32> owner, Operand<TInt32> oldToNew) {
    Operand<TInt32> g = gather1(tf, oldToNew, tf.math.maximum(owner, tf.constant(0)));
    Operand<TInt32> none = tf.fill(tf.shape(owner), tf.constant(-1));
    return tf.select(tf.math.greaterEqual(owner, tf.constant(0)), g, none);
  }

  /**
   * Interleaves the new indices of the even ({@code ta} tokens) and odd ({@code tb}) positions back
   * into sequence order [B, ta + tb].
   */
  static Operand<TInt32> interleave(Ops tf, Operand<TInt32> even, Operand<TInt32> odd, int ta, int tb) {
    Operand<TInt32> pairs = tf.reshape(tf.stack(List.of(slice1(tf, even, 0, tb), odd), org.tensorflow.op.core.Stack
        .axis(2L)), tf.constant(new int[] {-1, 2 * tb}));
    return ta > tb ? tf.concat(List.of(pairs, slice1(tf, even, tb, ta - tb)), tf.constant(1)) : pairs;
  }

  /** [B·T, D] rows as [B, T, D]. */
  static Operand<TFloat32> tokens3(Ops tf, TokenState s) {
    long d = s.rows().shape().get(1);
    return tf.reshape(s.rows(), tf.constant(new long[] {-1, s.tokens(), d}));
  }

  /** [B, T, D] as [B·T, D] rows. */
  static Operand<TFloat32> flat(Ops tf, Operand<TFloat32> x3) {
    long d = x3.shape().get(2);
    return tf.reshape(x3, tf.constant(new long[] {-1, d}));
  }

  /** Sums {@code values} [B, r, C] into {@code slots} positions [B, r] of a [B, size, C] tensor. */
  static Operand<TFloat32> scatterAdd(Ops tf, Operand<TFloat32> values, Operand<TInt32> index, int size) {
    long c = values.shape().get(2);
    Operand<TInt32> b = batch(tf, values);
    Operand<TInt32> offsets = tf.expandDims(tf.math.mul(tf.range(tf.constant(0), tf.reshape(b, tf.constant(
        new int[0])), tf.constant(1)), tf.constant(size)), tf.constant(1));
    Operand<TInt32> seg = tf.reshape(tf.math.add(index, offsets), tf.constant(new int[] {-1}));
    Operand<TFloat32> data = tf.reshape(values, tf.constant(new long[] {-1, c}));
    Operand<TInt32> segments = tf.math.mul(tf.reshape(b, tf.constant(new int[0])), tf.constant(size));
    Operand<TFloat32> sum = tf.math.unsortedSegmentSum(data, seg, segments);
    return tf.reshape(sum, tf.constant(new long[] {-1, size, c}));
  }

}
