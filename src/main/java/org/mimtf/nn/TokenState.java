package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * The token sequence flowing through the blocks: values [B·T, D] (flattened rows, which is what the
 * matmuls want) with a static token count T, plus, once a token reducer has run, each token's size
 * (how many original tokens it stands for, [B, T, 1]) and slot (the original patch index it occupies,
 * [B, T], −1 for CLS) — the bookkeeping SMR's decoder needs.
 */
public record TokenState(Operand<TFloat32> rows, int tokens, Operand<TFloat32> sizes, Operand<TInt32> slots) {
  public static TokenState of(Operand<TFloat32> rows, int tokens) {
    return new TokenState(rows, tokens, null, null);
  }

  public TokenState withRows(Operand<TFloat32> newRows) {
    return new TokenState(newRows, tokens, sizes, slots);
  }
}
