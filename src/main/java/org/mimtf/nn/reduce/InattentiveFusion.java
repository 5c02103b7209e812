package org.mimtf.nn.reduce;

import static org.mimtf.nn.reduce.TokenOps.gather1;
import static org.mimtf.nn.reduce.TokenOps.slice1;

import java.util.List;
import org.mimtf.nn.TokenState;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.index.Indices;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Inattentive token fusion (EViT, Liang et al. 2022; SMR's ITF, smr.md §4): a patch token's
 * attentiveness is the CLS query's attention weight on it, averaged over heads, from the same block's
 * attention. The most attentive tokens are kept (in sequence order) and the K + 1 least attentive are
 * fused into <em>one</em> token appended at the end, so the block removes exactly K tokens
 * <em>[inferred]</em>. The fused value is the attentiveness-weighted <em>mean</em> of its members (the
 * paper's "weighted averaged"; EViT's code sums without normalising); its size is the sum of theirs.
 * The fused token occupies the slot of its most attentive member, or no slot ({@link
 * TokenState#NO_SLOT}, dropped before decoding) — both readings of smr.md §4 are options.
 */
public final class InattentiveFusion {
  private InattentiveFusion() {}

  /** Tokens one block removes: K, at most T − 2 (at least one patch token must stay besides the fused one). */
  public static int effectiveK(int tokens, int k) {
    return Math.max(0, Math.min(k, tokens - 2));
  }

  /**
   * CLS attentiveness [B, T − 1] of the patch tokens from attention probabilities [B, h, T, T].
   */
  public static Operand<TFloat32> attentiveness(Ops tf, Operand<TFloat32> probs) {
    Operand<TFloat32> clsRow = tf.stridedSlice(probs, Indices.all(), Indices.all(), Indices.at(0),
        Indices.sliceFrom(1));
    return tf.math.mean(clsRow, tf.constant(1), Mean.keepDims(false));
  }

  /**
   * Fuses the K + 1 least attentive patch tokens of {@code s} into one.
   *
   * @param attentiveness [B, T − 1], from {@link #attentiveness}
   * @param fusedHasSlot whether the fused token takes its most attentive member's slot
   */
  public static TokenState apply(Ops tf, TokenState s, Operand<TFloat32> attentiveness, int k, boolean fusedHasSlot) {
    int t = s.tokens();
    k = effectiveK(t, k);
    if (k == 0) {
      return s;
    }
    int n = t - 1;
    int fuse = k + 1;
    int keep = n - fuse;
    Operand<TFloat32> attn = attentiveness;
    // patch indices by attentiveness, most attentive first (indices only: no gradient needed here)
    Operand<TInt32> order = tf.nn.topK(tf.stopGradient(attn), tf.constant(n), TInt32.class).indices();
    Operand<TInt32> keepPatch = TokenOps.sortAscending(tf, slice1(tf, order, 0, keep), keep);
    Operand<TInt32> fusePatch = slice1(tf, order, keep, fuse);
    Operand<TInt32> keepIdx = tf.math.add(keepPatch, tf.constant(1));
    Operand<TInt32> fuseIdx = tf.math.add(fusePatch, tf.constant(1));
    Operand<TFloat32> x = TokenOps.tokens3(tf, s);
    // attentiveness-weighted mean of the fused members (weights keep their gradient, as in EViT)
    Operand<TFloat32> w = gather1(tf, attn, fusePatch);
    w = tf.math.div(w, tf.sum(w, tf.constant(1), Sum.keepDims(true)));
    Operand<TFloat32> fused = tf.train.batchMatMul(tf.expandDims(w, tf.constant(1)), gather1(tf, x, fuseIdx),
        TFloat32.class);
    Operand<TFloat32> cls = slice1(tf, x, 0, 1);
    Operand<TFloat32> newX = tf.concat(List.of(cls, gather1(tf, x, keepIdx), fused), tf.constant(1));
    Operand<TFloat32> sizes = s.sizes();
    Operand<TFloat32> fusedSize = tf.sum(gather1(tf, sizes, fuseIdx), tf.constant(1), Sum.keepDims(true));
    Operand<TFloat32> newS = tf.concat(List.of(slice1(tf, sizes, 0, 1), gather1(tf, sizes, keepIdx), fusedSize),
        tf.constant(1));
    Operand<TInt32> batch = TokenOps.batch(tf, x);
    Operand<TInt32> fusedSlot = fusedHasSlot
        ? gather1(tf, s.slots(), slice1(tf, fuseIdx, 0, 1))
        : TokenOps.rows(tf, new int[] {TokenState.NO_SLOT}, batch);
    Operand<TInt32> newSlots = tf.concat(List.of(slice1(tf, s.slots(), 0, 1), gather1(tf, s.slots(), keepIdx),
        fusedSlot), tf.constant(1));
    int tNew = keep + 2;
    // old position -> new index: CLS 0, kept tokens 1..keep, fused members tNew - 1
    Operand<TInt32> perm = tf.concat(List.of(TokenOps.rows(tf, new int[] {0}, batch), keepIdx, fuseIdx),
        tf.constant(1));
    int[] values = new int[t];
    for (int i = 0; i < t; i++) {
      values[i] = i <= keep ? i : tNew - 1;
    }
    Operand<TInt32> oldToNew = gather1(tf, TokenOps.rows(tf, values, batch), TokenOps.invert(tf, perm, t));
    Operand<TInt32> owner = TokenOps.remapOwner(tf, s.owner(), oldToNew);
    return new TokenState(TokenOps.flat(tf, newX), tNew, newS, newSlots, owner);
  }
}
