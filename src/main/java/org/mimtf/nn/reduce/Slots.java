package org.mimtf.nn.reduce;

import org.mimtf.nn.TokenState;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Puts reduced tokens back on the patch grid (SMR's decoder input, smr.md §3.1, §6) using the
 * bookkeeping of a {@link TokenState}, and pools them.
 */
public final class Slots {
  private Slots() {}

  /**
   * Scatters tokens [B, T, C] to their slots on a [B, 1 + N, C] canvas (CLS, slot −1, at index 0;
   * tokens without a slot are left out). Returns the canvas and its occupancy [B, 1 + N, 1] (1 where a
   * token landed, 0 elsewhere). Slots are distinct, so every occupied cell holds exactly one token;
   * gradients flow to the tokens.
   */
  public static Operand<TFloat32>[] scatter(Ops tf, Operand<TFloat32> tokens, Operand<TInt32> slots, int patches) {
    // slot s >= -1 goes to s + 1; NO_SLOT (-2) to a spare cell N + 1 that is cut off
    Operand<TInt32> index = tf.math.add(slots, tf.constant(1));
    index = tf.select(tf.math.less(index, tf.constant(0)), tf.fill(tf.shape(index), tf.constant(patches + 1)),
        index);
    Operand<TFloat32> ones = tf.expandDims(tf.fill(tf.shape(slots), tf.constant(1f)), tf.constant(-1));
    Operand<TFloat32> canvas = TokenOps.slice1(tf, TokenOps.scatterAdd(tf, tokens, index, patches + 2), 0,
        patches + 1);
    Operand<TFloat32> occupied = TokenOps.slice1(tf, TokenOps.scatterAdd(tf, ones, index, patches + 2), 0,
        patches + 1);
    @SuppressWarnings("unchecked")
    Operand<TFloat32>[] out = new Operand[] {canvas, occupied};
    return out;
  }

  /**
   * ToMe's unmerge: each patch position gets the token that owns it ([B, T, C] tokens, owner [B, N]) →
   * [B, N, C], plus a [B, N, 1] mask that is 0 where the patch's content was deleted (those rows are 0).
   */
  public static Operand<TFloat32>[] unmerge(Ops tf, Operand<TFloat32> tokens, Operand<TInt32> owner) {
    Operand<TFloat32> g = TokenOps.gather1(tf, tokens, tf.math.maximum(owner, tf.constant(0)));
    Operand<TFloat32> alive = tf.expandDims(tf.dtypes.cast(tf.math.greaterEqual(owner, tf.constant(0)),
        TFloat32.class), tf.constant(-1));
    @SuppressWarnings("unchecked")
    Operand<TFloat32>[] out = new Operand[] {tf.math.mul(g, alive), alive};
    return out;
  }

  /**
   * Per-patch mean of {@code values} [B, N, C] over each patch's owner group (the patches merged into
   * the same token), [B, N, C]; patches whose content was deleted get {@code fill}. For pictures of
   * the merge groups.
   */
  public static Operand<TFloat32> groupMean(Ops tf, Operand<TFloat32> values, Operand<TInt32> owner, int tokens,
      float fill) {
    Operand<TInt32> index = tf.select(tf.math.less(owner, tf.constant(0)), tf.fill(tf.shape(owner),
        tf.constant(tokens)), owner);
    Operand<TFloat32> ones = tf.expandDims(tf.fill(tf.shape(owner), tf.constant(1f)), tf.constant(-1));
    Operand<TFloat32> sum = TokenOps.scatterAdd(tf, values, index, tokens + 1);
    Operand<TFloat32> count = TokenOps.scatterAdd(tf, ones, index, tokens + 1);
    Operand<TFloat32> mean = tf.math.divNoNan(sum, count);
    Operand<TFloat32> per = TokenOps.gather1(tf, mean, index);
    Operand<TFloat32> alive = tf.expandDims(tf.dtypes.cast(tf.math.greaterEqual(owner, tf.constant(0)),
        TFloat32.class), tf.constant(-1));
    return tf.math.add(tf.math.mul(per, alive), tf.math.mul(tf.math.sub(tf.constant(1f), alive), tf.constant(fill)));
  }

  /** Size-weighted mean of the patch tokens (CLS excluded) of tokens [B, T, C] with sizes [B, T, 1]: [B, C]. */
  public static Operand<TFloat32> weightedPatchMean(Ops tf, Operand<TFloat32> tokens, Operand<TFloat32> sizes,
      int t) {
    Operand<TFloat32> x = TokenOps.slice1(tf, tokens, 1, t - 1);
    Operand<TFloat32> s = TokenOps.slice1(tf, sizes, 1, t - 1);
    Operand<TInt32> axis = tf.constant(1);
    return tf.math.div(tf.sum(tf.math.mul(x, s), axis), tf.sum(s, axis));
  }
}
