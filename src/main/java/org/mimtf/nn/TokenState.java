package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The token sequence flowing through the blocks: values [B·T, D] (flattened rows, which is what the
 * matmuls want) with a static token count T, plus, when a token reducer is in use, the bookkeeping
 * SMR's decoder and visualisations need:
 * <ul>
 *   <li>{@code sizes} [B, T, 1]: how many original tokens each token stands for (ToMe's size);
 *   <li>{@code slots} [B, T]: the original patch index (0…N−1) each token occupies, −1 for CLS, −2 for
 *       a token without a slot (an ITF fused token when fused tokens are dropped before decoding);
 *   <li>{@code owner} [B, N]: for each original patch, the index of the current token its content went
 *       into (ToMe's {@code source} matrix as an index), −1 when it was dropped.
 * </ul>
 * Without a reducer the three are null.
 */
public record TokenState(Operand<TFloat32> rows, int tokens, Operand<TFloat32> sizes, Operand<TInt32> slots,
    Operand<TInt32> owner) {
  /** Slot value of the CLS token. */
  public static final int CLS_SLOT = -1;
  /** Slot value of a token that occupies no grid position. */
  public static final int NO_SLOT = -2;

  public TokenState(Operand<TFloat32> rows, int tokens, Operand<TFloat32> sizes, Operand<TInt32> slots) {
    this(rows, tokens, sizes, slots, null);
  }

  public static TokenState of(Operand<TFloat32> rows, int tokens) {
    return new TokenState(rows, tokens, null, null, null);
  }

  public TokenState withRows(Operand<TFloat32> newRows) {
    return new TokenState(newRows, tokens, sizes, slots, owner);
  }

  /**
   * The bookkeeping of an unreduced sequence [CLS; patch 0; …; patch N−1] of {@code batch} examples:
   * sizes 1, slots −1, 0, …, N−1, and patch p owned by token p + 1.
   */
  public static TokenState tracked(org.tensorflow.op.Ops tf, Operand<TFloat32> rows, int patches,
      Operand<TInt32> batch) {
    int t = patches + 1;
    Operand<TFloat32> sizes = tf.fill(tf.concat(java.util.List.of(batch, tf.constant(new int[] {t, 1})),
        tf.constant(0)), tf.constant(1f));
    int[] slot = new int[t];
    int[] own = new int[patches];
    slot[0] = CLS_SLOT;
    for (int p = 0; p < patches; p++) {
      slot[p + 1] = p;
      own[p] = p + 1;
    }
    Operand<TInt32> slots = tf.broadcastTo(tf.constant(new int[][] {slot}),
        tf.concat(java.util.List.of(batch, tf.constant(new int[] {t})), tf.constant(0)));
    Operand<TInt32> owner = tf.broadcastTo(tf.constant(new int[][] {own}),
        tf.concat(java.util.List.of(batch, tf.constant(new int[] {patches})), tf.constant(0)));
    return new TokenState(rows, t, sizes, slots, owner);
  }

  /** Whether the size/slot/owner bookkeeping is present. */
  public boolean tracked() {
    return sizes != null && slots != null && owner != null;
  }
}
