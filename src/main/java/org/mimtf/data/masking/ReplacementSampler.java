package org.mimtf.data.masking;

import java.util.random.RandomGenerator;

/**
 * CCViT's replaced positions: {@code count} patches chosen uniformly without replacement among the
 * <em>unmasked</em> ones (ccvit.md §3 step 5: shuffle the unmasked indices, take the first 20), so the
 * replaced set R never overlaps the mask M.
 */
public final class ReplacementSampler {
  private ReplacementSampler() {}

  /**
   * @param mask {@code true} = masked
   * @return a new array, {@code true} = replaced; exactly {@code count} entries, none masked
   * @throws IllegalArgumentException if fewer than {@code count} positions are unmasked
   */
  public static boolean[] sample(boolean[] mask, int count, RandomGenerator rng) {
    return Sampling.choose(mask, false, count, rng, "unmasked");
  }
}
