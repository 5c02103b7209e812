package org.mimtf.data.masking;

/**
 * Per-sample index form of an MAE-style random mask (common-vit.md §9), for encoders that only see
 * their visible tokens.
 *
 * @param shuffle {@code ids_shuffle}: a permutation of {@code 0..N-1}; the first {@code keep.length}
 *     entries are the visible tokens
 * @param keep {@code ids_keep = ids_shuffle[:len_keep]}: visible token indices in shuffled order
 *     (gather the patch embeddings with it)
 * @param restore {@code ids_restore = argsort(ids_shuffle)}: gathering {@code [x_vis, mask tokens]}
 *     with it puts every token back at its original position
 * @param mask {@code true} = removed, in original token order ({@code mask[i] == restore[i] >=
 *     len_keep})
 */
public record MaskIndices(int[] shuffle, int[] keep, int[] restore, boolean[] mask) {
  /** {@code len_keep}. */
  public int numKeep() {
    return keep.length;
  }
}
