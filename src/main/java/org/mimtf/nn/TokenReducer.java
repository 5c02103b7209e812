package org.mimtf.nn;

import org.tensorflow.op.Ops;

/**
 * A hook that shrinks the token set inside a block, between the attention and MLP residuals (where
 * ToMe merges): SMR's token merging, dropping and fusion implement it. The backbone calls it only for
 * the blocks it {@link #appliesTo applies to}.
 */
public interface TokenReducer {
  /** Whether block {@code block} (0-based) reduces tokens. */
  boolean appliesTo(int block);

  /**
   * Reduces {@code state} using what the block's attention computed (keys for similarity, probabilities
   * for attentiveness). The returned state has a smaller static token count.
   */
  TokenState reduce(Ops tf, Compute c, TokenState state, Attention.Output attention, int block);

  /** Whether attention logits add log(size) of each key (ToMe's proportional attention). */
  default boolean proportionalAttention() {
    return false;
  }
}
