package org.mimtf.data.masking;

import java.util.random.RandomGenerator;

/**
 * Partial decoding for visible-token encoders with a mask that is not produced in shuffled order (for
 * instance a block mask): a uniform subset of k masked positions that the decoder predicts, the rest
 * of the masked positions being skipped (moca.md §1, §5.1: only ~20 % of the tokens are
 * masked-and-predicted; {@link ComplementaryMaskGenerator} gets the same effect by cutting its
 * shuffled order).
 */
public final class PartialDecodingSampler {
  private PartialDecodingSampler() {}

  /**
   * @param mask {@code true} = masked
   * @return a new array, {@code true} = decoded; exactly {@code k} entries, all of them masked
   * @throws IllegalArgumentException if fewer than {@code k} positions are masked
   */
  public static boolean[] sample(boolean[] mask, int k, RandomGenerator rng) {
    return Sampling.choose(mask, true, k, rng, "masked");
  }
}
