package org.mimtf.nn.reduce;

import static org.mimtf.nn.reduce.TokenOps.gather1;
import static org.mimtf.nn.reduce.TokenOps.slice1;

import java.util.List;
import org.mimtf.nn.TokenState;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Random dropping (SMR's RD, smr.md §4): K patch tokens, chosen uniformly per example, are deleted
 * (CLS protected); the survivors keep their order. The draw is a stateless random op seeded by the
 * step's seed and the block, so a resumed run draws the same tokens.
 */
public final class RandomDropping {
  private RandomDropping() {}

  /** Tokens one block removes: K, at most T − 2 (one patch token stays). */
  public static int effectiveK(int tokens, int k) {
    return Math.max(0, Math.min(k, tokens - 2));
  }

  /**
   * Drops K random patch tokens of {@code s}.
   *
   * @param seed stateless seed [2] of this draw
   */
  public static TokenState apply(Ops tf, TokenState s, int k, Operand<TInt64> seed) {
    int t = s.tokens();
    k = effectiveK(t, k);
    if (k == 0) {
      return s;
    }
    int n = t - 1;
    int keep = n - k;
    Operand<TFloat32> x = TokenOps.tokens3(tf, s);
    Operand<TInt32> batch = TokenOps.batch(tf, x);
    Operand<TFloat32> noise = tf.random.statelessRandomUniform(tf.concat(List.of(batch, tf.constant(new int[] {n})),
        tf.constant(0)), seed, TFloat32.class);
    Operand<TInt32> order = tf.nn.topK(noise, tf.constant(n), TInt32.class).indices();
    Operand<TInt32> keepIdx = tf.math.add(TokenOps.sortAscending(tf, slice1(tf, order, 0, keep), keep),
        tf.constant(1));
    Operand<TInt32> dropIdx = tf.math.add(slice1(tf, order, keep, k), tf.constant(1));
    Operand<TInt32> idx = tf.concat(List.of(TokenOps.rows(tf, new int[] {0}, batch), keepIdx), tf.constant(1));
    Operand<TFloat32> newX = gather1(tf, x, idx);
    Operand<TFloat32> newS = gather1(tf, s.sizes(), idx);
    Operand<TInt32> newSlots = gather1(tf, s.slots(), idx);
    Operand<TInt32> perm = tf.concat(List.of(idx, dropIdx), tf.constant(1));
    int[] values = new int[t];
    for (int i = 0; i < t; i++) {
      values[i] = i <= keep ? i : -1;
    }
    Operand<TInt32> oldToNew = gather1(tf, TokenOps.rows(tf, values, batch), TokenOps.invert(tf, perm, t));
    Operand<TInt32> owner = TokenOps.remapOwner(tf, s.owner(), oldToNew);
    return new TokenState(TokenOps.flat(tf, newX), keep + 1, newS, newSlots, owner);
  }
}
