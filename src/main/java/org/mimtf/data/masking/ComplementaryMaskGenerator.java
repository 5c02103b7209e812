package org.mimtf.data.masking;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.config.proto.ComplementaryMasking;

/**
 * MOCA's two complementary masking rounds with partial decoding (moca.md §5.1; valeoai/MOCA
 * util/misc.py {@code make_two_complementary_masks}).
 *
 * <p>Counts, with N tokens and {@code floor} as in the reference's {@code int(N * (1 - r))}:
 *
 * <ul>
 *   <li>{@code keep1 = floor(N * (1 - first_mask_ratio))}, {@code keep2 = floor(N * (1 -
 *       second_mask_ratio))};
 *   <li>{@code P = floor(N * partial_decoding_ratio)} masked tokens are decoded (predicted) in
 *       <em>both</em> rounds; {@code dec1 = keep1 + P}, {@code dec2 = keep2 + P}.
 * </ul>
 *
 * For N = 196 and the official ratios (0.55, 0.75, 0.2) this gives keep1 = 88, dec1 = 127, keep2 =
 * 49, dec2 = 88, the reference's numbers (its decoder ratios 0.35 / 0.55 give dec1 = 127 and dec2 =
 * 88). The reference derives dec2 from its own ratio and does not check that both rounds decode the
 * same set; deriving both from one P makes the shared predicted set hold for every N.
 *
 * <p>Orders: {@code s1} is a uniform permutation (the reference's {@code argsort} of uniform noise);
 * {@code E1 = s1[0:keep1]}, {@code P = s1[keep1:dec1]}, remainder {@code R1 = s1[dec1:N]}. Round 2 takes
 * its visible tokens from the remainder, {@code E2 = R1[0:keep2]}, and {@code s2 = [E2, P,
 * R1[keep2:], E1]}. Hence in each round r: encoder-visible = {@code s_r[0:keep_r]}, decoded = {@code
 * s_r[0:dec_r]}, predicted masked = {@code s_r[keep_r:dec_r]} = P in both rounds, and E2 is disjoint
 * from E1 and P.
 */
public final class ComplementaryMaskGenerator {
  private final int n;
  private final int keep1;
  private final int keep2;
  private final int predicted;

  /**
   * @param n tokens per image (the patch count)
   * @param firstMaskRatio fraction of tokens hidden from the round-1 encoder
   * @param secondMaskRatio fraction of tokens hidden from the round-2 encoder
   * @param partialDecodingRatio fraction of N (not of the masked tokens) predicted in each round
   */
  public ComplementaryMaskGenerator(
      int n, float firstMaskRatio, float secondMaskRatio, float partialDecodingRatio) {
    this(n, counts(n, firstMaskRatio, secondMaskRatio, partialDecodingRatio));
  }

  private ComplementaryMaskGenerator(int n, int[] counts) {
    checkArgument(n > 0, "number of tokens (%s) must be > 0", n);
    this.n = n;
    this.keep1 = counts[0];
    this.keep2 = counts[1];
    this.predicted = counts[2];
    checkArgument(keep1 >= 1, "the first round leaves no visible token (keep1 = %s) for N = %s", keep1, n);
    checkArgument(keep2 >= 1, "the second round leaves no visible token (keep2 = %s) for N = %s", keep2, n);
    checkArgument(
        keep1 + predicted <= n,
        "round-1 visible (keep1 = %s) plus predicted (P = %s) tokens exceed N = %s: lower"
            + " partial_decoding_ratio or raise first_mask_ratio",
        keep1,
        predicted,
        n);
    checkArgument(
        keep2 <= n - keep1 - predicted,
        "round-2 visible tokens (keep2 = %s) must come from the tokens neither visible nor predicted"
            + " in round 1 (N - keep1 - P = %s - %s - %s = %s): raise second_mask_ratio or"
            + " lower first_mask_ratio / partial_decoding_ratio",
        keep2,
        n,
        keep1,
        predicted,
        n - keep1 - predicted);
  }

  /**
   * The counts {keep1, keep2, P} of N tokens at these ratios (the class comment's formulas): the one
   * place they are derived. {@code config.RecipeResolver} writes them into the resolved recipe
   * ({@code num_visible_first}, {@code num_visible_second}, {@code num_predicted}); everything else
   * reads them there.
   */
  public static int[] counts(int n, float firstMaskRatio, float secondMaskRatio, float partialDecodingRatio) {
    double r1 = Sampling.decimal(firstMaskRatio);
    double r2 = Sampling.decimal(secondMaskRatio);
    double pd = Sampling.decimal(partialDecodingRatio);
    checkArgument(r1 >= 0 && r1 < 1, "first_mask_ratio (%s) must be in [0, 1)", r1);
    checkArgument(r2 >= 0 && r2 < 1, "second_mask_ratio (%s) must be in [0, 1)", r2);
    checkArgument(pd >= 0 && pd <= 1, "partial_decoding_ratio (%s) must be in [0, 1]", pd);
    return new int[] {(int) Math.floor(n * (1.0 - r1)), (int) Math.floor(n * (1.0 - r2)), (int) Math.floor(n * pd)};
  }

  /** From a resolved recipe's counts, with N = the number of patch tokens. */
  public static ComplementaryMaskGenerator fromConfig(ComplementaryMasking cfg, int n) {
    checkArgument(cfg.getNumVisibleFirst() > 0 && cfg.getNumVisibleSecond() > 0,
        "masking.complementary has no visible-token counts: the recipe is not resolved (RecipeLoader resolves it)");
    return new ComplementaryMaskGenerator(
        n, new int[] {cfg.getNumVisibleFirst(), cfg.getNumVisibleSecond(), cfg.getNumPredicted()});
  }

  /** Draws the two orders for one image. */
  public ComplementaryMasks generate(RandomGenerator rng) {
    int[] s1 = Sampling.permutation(n, rng);
    int dec1 = keep1 + predicted;
    int[] s2 = new int[n];
    int k = 0;
    // E2 = R1[0:keep2]
    System.arraycopy(s1, dec1, s2, k, keep2);
    k += keep2;
    // P = s1[keep1:dec1]
    System.arraycopy(s1, keep1, s2, k, predicted);
    k += predicted;
    // R1[keep2:]
    System.arraycopy(s1, dec1 + keep2, s2, k, n - dec1 - keep2);
    k += n - dec1 - keep2;
    // E1 = s1[0:keep1]
    System.arraycopy(s1, 0, s2, k, keep1);
    return new ComplementaryMasks(s1, s2, keep1, keep2, dec1, keep2 + predicted);
  }

  public int numTokens() {
    return n;
  }

  public int keep1() {
    return keep1;
  }

  public int keep2() {
    return keep2;
  }

  /** P: masked tokens decoded (predicted) in each round. */
  public int numPredicted() {
    return predicted;
  }

  public int dec1() {
    return keep1 + predicted;
  }

  public int dec2() {
    return keep2 + predicted;
  }

  @Override
  public String toString() {
    return String.format(
        "ComplementaryMaskGenerator[N=%d, keep1=%d, dec1=%d, keep2=%d, dec2=%d]",
        n, keep1, dec1(), keep2, dec2());
  }

  /**
   * The two token orders of one image and their cut points.
   *
   * @param order1 s1: round-1 order; visible = {@code [0, keep1)}, decoded = {@code [0, dec1)}
   * @param order2 s2: round-2 order; visible = {@code [0, keep2)}, decoded = {@code [0, dec2)}
   */
  public record ComplementaryMasks(
      int[] order1, int[] order2, int keep1, int keep2, int dec1, int dec2) {
    /** P, the predicted masked tokens (the same set in both rounds). */
    public int numPredicted() {
      return dec1 - keep1;
    }
  }
}
