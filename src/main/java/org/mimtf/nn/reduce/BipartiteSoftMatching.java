package org.mimtf.nn.reduce;

import static org.mimtf.nn.reduce.TokenOps.everyOther;
import static org.mimtf.nn.reduce.TokenOps.gather1;
import static org.mimtf.nn.reduce.TokenOps.slice1;

import java.util.List;
import org.mimtf.nn.TokenState;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.math.Mean;
import org.tensorflow.op.nn.TopK;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * ToMe's bipartite soft matching (Bolya et al. 2023; facebookresearch/ToMe {@code tome/merge.py}
 * {@code bipartite_soft_matching}, {@code merge_wavg}, {@code merge_source}; smr.md §3) with the CLS
 * token protected, and its dropping variant (SMR's TD: same matching and ranking, sources deleted).
 *
 * <ol>
 *   <li>{@code r = min(K, (T − 1) // 2)};
 *   <li>the metric (keys averaged over heads, [B, T, d_h]) is L2-normalised per token and split by
 *       position parity of the <em>current</em> sequence: A = 0, 2, 4, … (CLS is A's first token),
 *       B = 1, 3, 5, …;
 *   <li>{@code S = Â·B̂ᵀ}, CLS's row set to −∞; each A token's best B match ({@code max}, {@code argmax});
 *   <li>A tokens ordered by their best score, descending (TopK, stable); the first r are sources, the
 *       rest are kept and sorted back into A order (CLS stays first);
 *   <li>merge: each B token becomes the size-weighted mean of itself and the sources matched to it
 *       (sizes add); drop: sources are deleted and B tokens are unchanged;
 *   <li>new sequence = [kept A tokens; all B tokens] with sizes and slots in the same order; the
 *       patch-owner map follows each token to its new index (a merged source to its destination's).
 * </ol>
 * Steps 2–4 compute indices only (the metric enters through {@code StopGradient}); values move by
 * gather and {@code UnsortedSegmentSum}, which carry gradients.
 */
public final class BipartiteSoftMatching {
  private BipartiteSoftMatching() {}

  /**
   * The matching of one block.
   *
   * @param src A-indices of the sources [B, r], best score first
   * @param dst B-indices of their destinations [B, r]
   * @param kept A-indices of the kept A tokens [B, ta − r], ascending
   * @param r tokens removed
   * @param ta size of A
   * @param tb size of B
   */
  public record Match(Operand<TInt32> src, Operand<TInt32> dst, Operand<TInt32> kept, int r, int ta, int tb) {}

  /** How many tokens one block removes from T tokens when asked for K: {@code min(K, (T − 1) // 2)}. */
  public static int effectiveR(int tokens, int k) {
    return Math.max(0, Math.min(k, (tokens - 1) / 2));
  }

  /**
   * Matches the T tokens of {@code metric} [B, T, C] (keys averaged over heads) and chooses r sources.
   */
  public static Match match(Ops tf, Operand<TFloat32> metric, int tokens, int k) {
    int r = effectiveR(tokens, k);
    int ta = (tokens + 1) / 2;
    int tb = tokens / 2;
    Operand<TFloat32> m = tf.stopGradient(metric);
    m = tf.math.mul(m, tf.math.rsqrt(tf.math.add(tf.sum(tf.math.square(m), tf.constant(-1), Sum.keepDims(true)),
        tf.constant(1e-12f))));
    Operand<TFloat32> a = everyOther(tf, m, 0);
    Operand<TFloat32> b = everyOther(tf, m, 1);
    Operand<TFloat32> scores = tf.train.batchMatMul(a, b, TFloat32.class,
        org.tensorflow.op.train.BatchMatMul.adjY(true));
    float[] clsRow = new float[ta];
    clsRow[0] = Float.NEGATIVE_INFINITY; // the CLS token (A's first) never merges
    scores = tf.math.add(scores, tf.reshape(tf.constant(clsRow), tf.constant(new int[] {1, ta, 1})));
    Operand<TFloat32> nodeMax = tf.max(scores, tf.constant(-1));
    Operand<TInt32> nodeIdx = tf.math.argMax(scores, tf.constant(-1), TInt32.class);
    TopK<TFloat32, TInt32> order = tf.nn.topK(nodeMax, tf.constant(ta), TInt32.class);
    Operand<TInt32> edge = order.indices();
    Operand<TInt32> src = slice1(tf, edge, 0, r);
    Operand<TInt32> kept = TokenOps.sortAscending(tf, slice1(tf, edge, r, ta - r), ta - r);
    Operand<TInt32> dst = gather1(tf, nodeIdx, src);
    return new Match(src, dst, kept, r, ta, tb);
  }

  /**
   * A random per-example order of the T tokens with CLS kept first, [B, T]: split by parity afterwards it
   * gives the paper's random equal-sized partition.
   */
  public static Operand<TInt32> randomOrder(Ops tf, Operand<TFloat32> like, int tokens,
      Operand<org.tensorflow.types.TInt64> seed) {
    Operand<TInt32> batch = TokenOps.batch(tf, like);
    Operand<TFloat32> noise = tf.random.statelessRandomUniform(tf.concat(List.of(batch,
        tf.constant(new int[] {tokens - 1})), tf.constant(0)), seed, TFloat32.class);
    Operand<TInt32> order = tf.math.add(tf.nn.topK(noise, tf.constant(tokens - 1), TInt32.class).indices(),
        tf.constant(1));
    return tf.concat(List.of(TokenOps.rows(tf, new int[] {0}, batch), order), tf.constant(1));
  }

  /** The state with its tokens in the order {@code perm} [B, T] (a permutation), bookkeeping included. */
  public static TokenState reorder(Ops tf, TokenState s, Operand<TInt32> perm) {
    int t = s.tokens();
    Operand<TFloat32> x = gather1(tf, TokenOps.tokens3(tf, s), perm);
    Operand<TInt32> owner = TokenOps.remapOwner(tf, s.owner(), TokenOps.invert(tf, perm, t));
    return new TokenState(TokenOps.flat(tf, x), t, gather1(tf, s.sizes(), perm), gather1(tf, s.slots(), perm), owner);
  }

  /** The metric of an attention call: keys [B, h, T, d_h] averaged over heads, [B, T, d_h]. */
  public static Operand<TFloat32> keyMetric(Ops tf, Operand<TFloat32> keys) {
    return tf.math.mean(keys, tf.constant(1), Mean.keepDims(false));
  }

  /**
   * Applies a matching to a tracked state: merges (size-weighted means) or drops the sources.
   */
  public static TokenState apply(Ops tf, TokenState s, Match m, boolean drop) {
    if (m.r() == 0) {
      return s;
    }
    int r = m.r();
    int ta = m.ta();
    int tb = m.tb();
    int keptA = ta - r;
    Operand<TFloat32> x = TokenOps.tokens3(tf, s);
    Operand<TFloat32> xa = everyOther(tf, x, 0);
    Operand<TFloat32> xb = everyOther(tf, x, 1);
    Operand<TFloat32> sa = everyOther(tf, s.sizes(), 0);
    Operand<TFloat32> sb = everyOther(tf, s.sizes(), 1);
    Operand<TFloat32> newXb = xb;
    Operand<TFloat32> newSb = sb;
    if (!drop) {
      // merge_wavg: b' = (s_b x_b + Σ s_i x_i) / (s_b + Σ s_i), written as x_b + (Σ s_i x_i − Σ s_i · x_b) / s'
      // so that a B token nothing merged into keeps exactly its value.
      Operand<TFloat32> srcS = gather1(tf, sa, m.src());
      Operand<TFloat32> srcY = tf.math.mul(gather1(tf, xa, m.src()), srcS);
      Operand<TFloat32> addY = TokenOps.scatterAdd(tf, srcY, m.dst(), tb);
      Operand<TFloat32> addS = TokenOps.scatterAdd(tf, srcS, m.dst(), tb);
      newSb = tf.math.add(sb, addS);
      newXb = tf.math.add(xb, tf.math.div(tf.math.sub(addY, tf.math.mul(addS, xb)), newSb));
    }
    Operand<TFloat32> newX = tf.concat(List.of(gather1(tf, xa, m.kept()), newXb), tf.constant(1));
    Operand<TFloat32> newS = tf.concat(List.of(gather1(tf, sa, m.kept()), newSb), tf.constant(1));
    Operand<TInt32> newSlots = tf.concat(List.of(gather1(tf, everyOther(tf, s.slots(), 0), m.kept()),
        everyOther(tf, s.slots(), 1)), tf.constant(1));
    // Old position -> new index. A: the kept ones take ranks 0..keptA-1 in order, sources go to their
    // destination (merge) or nowhere (drop); B token j goes to keptA + j.
    Operand<TInt32> batch = TokenOps.batch(tf, x);
    Operand<TInt32> perm = tf.concat(List.of(m.kept(), m.src()), tf.constant(1));
    Operand<TInt32> srcTarget = drop
        ? tf.fill(tf.shape(m.dst()), tf.constant(-1))
        : tf.math.add(m.dst(), tf.constant(keptA));
    Operand<TInt32> values = tf.concat(List.of(TokenOps.rows(tf, TokenOps.range(0, keptA), batch), srcTarget),
        tf.constant(1));
    Operand<TInt32> mapA = gather1(tf, values, TokenOps.invert(tf, perm, ta));
    Operand<TInt32> mapB = TokenOps.rows(tf, TokenOps.range(keptA, tb), batch);
    Operand<TInt32> oldToNew = TokenOps.interleave(tf, mapA, mapB, ta, tb);
    Operand<TInt32> owner = TokenOps.remapOwner(tf, s.owner(), oldToNew);
    return new TokenState(TokenOps.flat(tf, newX), keptA + tb, newS, newSlots, owner);
  }
}
