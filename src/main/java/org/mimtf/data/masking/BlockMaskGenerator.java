package org.mimtf.data.masking;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.random.RandomGenerator;
import org.mimtf.config.proto.BlockMasking;

/**
 * BEiT block-wise masking: rectangles of log-uniform aspect ratio are dropped on the patch grid until
 * the target count M is reached (common-vit.md §8; microsoft/unilm beit/masking_generator.py and
 * beit2/masking_generator.py).
 *
 * <p>The algorithm is reproduced step by step because its quirks change the mask distribution:
 *
 * <ul>
 *   <li>the block area is {@code a + (b - a) * u} with {@code a = min_num_patches} and {@code b} the
 *       remaining capacity, so when the capacity is below the minimum the bounds are simply swapped
 *       (Python's {@code random.uniform});
 *   <li>{@code h = round(sqrt(area * aspect))}, {@code w = round(sqrt(area / aspect))} with Python's
 *       round-half-to-even ({@link Math#rint});
 *   <li>a block is only tried when {@code w < W} and {@code h < H} (strict), and its top-left corner is
 *       drawn with the inclusive {@code random.randint(0, H - h)};
 *   <li>a block is accepted only if it adds between 1 and {@code cap} new cells, so the count never
 *       exceeds M; after 10 failed attempts the loop stops.
 * </ul>
 *
 * <p>BEiT v1 / ConMIM ({@code exactCount = false}) return the mask as is, with at most M cells. BEiT v2
 * / CCViT ({@code exactCount = true}) top the mask up with uniformly chosen unmasked cells so that
 * every mask has exactly M cells, which keeps per-image loss normalisers constant.
 */
public final class BlockMaskGenerator {
  /** Attempts per block before {@link #placeBlock} gives up (the reference's {@code range(10)}). */
  static final int ATTEMPTS = 10;

  private final int gridH;
  private final int gridW;
  private final int numMasking;
  private final int minNumPatches;
  private final int maxNumPatches;
  private final double minAspect;
  private final double maxAspect;
  private final double logMinAspect;
  private final double logMaxAspect;
  private final boolean exactCount;

  /**
   * @param gridH patch-grid rows
   * @param gridW patch-grid columns
   * @param numMasking target count M, in [0, gridH * gridW]
   * @param minNumPatches smallest block area drawn (BEiT scripts: 16)
   * @param maxNumPatches largest block area drawn (BEiT default: M)
   * @param minAspect smallest aspect ratio h/w (0.3)
   * @param maxAspect largest aspect ratio h/w (1 / minAspect)
   * @param exactCount top up to exactly M masked cells (BEiT v2 / CCViT)
   */
  public BlockMaskGenerator(
      int gridH,
      int gridW,
      int numMasking,
      int minNumPatches,
      int maxNumPatches,
      double minAspect,
      double maxAspect,
      boolean exactCount) {
    checkArgument(gridH > 0 && gridW > 0, "grid (%sx%s) must be positive", gridH, gridW);
    checkArgument(
        numMasking >= 0 && numMasking <= gridH * gridW,
        "num_masking_patches (%s) must be in [0, %s] for a %sx%s grid",
        numMasking,
        gridH * gridW,
        gridH,
        gridW);
    checkArgument(minNumPatches >= 1, "min_num_patches (%s) must be >= 1", minNumPatches);
    checkArgument(maxNumPatches >= 1, "max_num_patches (%s) must be >= 1", maxNumPatches);
    checkArgument(minAspect > 0, "min_aspect (%s) must be > 0", minAspect);
    checkArgument(
        maxAspect >= minAspect,
        "max_aspect (%s) must be >= min_aspect (%s)",
        maxAspect,
        minAspect);
    this.gridH = gridH;
    this.gridW = gridW;
    this.numMasking = numMasking;
    this.minNumPatches = minNumPatches;
    this.maxNumPatches = maxNumPatches;
    this.minAspect = minAspect;
    this.maxAspect = maxAspect;
    this.logMinAspect = Math.log(minAspect);
    this.logMaxAspect = Math.log(maxAspect);
    this.exactCount = exactCount;
  }

  /**
   * The mask count M of a ratio of N cells: {@code round(mask_ratio * N)}, half to even as Python's
   * {@code round} (the rounding of the rest of this algorithm; BEiT's scripts give M itself, 75 of
   * 196). The one place the ratio becomes a count: {@code config.RecipeResolver} writes it into the
   * resolved recipe's {@code num_masking_patches}, which everything else reads.
   */
  public static int countFromRatio(float maskRatio, int n) {
    double ratio = Sampling.decimal(maskRatio);
    checkArgument(ratio >= 0 && ratio <= 1, "mask_ratio (%s) must be in [0, 1]", ratio);
    return (int) Math.rint(ratio * n);
  }

  /**
   * Builds a generator from a resolved recipe's block masking: M from the ratio and
   * {@code max_num_patches} = M are written out by the resolver, so zeros there mean the recipe was
   * not resolved. {@code max_aspect} 0 is the reciprocal of {@code min_aspect} in double precision
   * (1 / 0.3, as BEiT's code), which a float field cannot hold: that one default is derived here.
   */
  public static BlockMaskGenerator fromConfig(BlockMasking cfg, int gridH, int gridW) {
    checkArgument(gridH > 0 && gridW > 0, "grid (%sx%s) must be positive", gridH, gridW);
    int numMasking = cfg.getNumMaskingPatches();
    checkArgument(numMasking > 0 && cfg.getMaxNumPatches() > 0,
        "masking.block has num_masking_patches %s, max_num_patches %s: the recipe is not resolved "
            + "(RecipeLoader resolves it)", numMasking, cfg.getMaxNumPatches());
    int maxNum = cfg.getMaxNumPatches();
    double minAspect = Sampling.decimal(cfg.getMinAspect());
    checkArgument(minAspect > 0, "min_aspect (%s) must be > 0", minAspect);
    double maxAspect =
        cfg.getMaxAspect() == 0 ? 1.0 / minAspect : Sampling.decimal(cfg.getMaxAspect());
    return new BlockMaskGenerator(
        gridH,
        gridW,
        numMasking,
        cfg.getMinNumPatches(),
        maxNum,
        minAspect,
        maxAspect,
        cfg.getExactCount());
  }

  /** A new mask, row-major ({@code index = row * gridW + col}), {@code true} = masked. */
  public boolean[] generate(RandomGenerator rng) {
    boolean[] mask = new boolean[gridH * gridW];
    int count = 0;
    while (count < numMasking) {
      int cap = Math.min(numMasking - count, maxNumPatches);
      PlacedBlock block = placeBlock(mask, cap, rng);
      if (block == null) {
        break;
      }
      count += block.added();
    }
    if (exactCount && count < numMasking) {
      // beit2/masking_generator.py: np.random.choice over the unmasked cells, without replacement.
      boolean[] extra = Sampling.choose(mask, false, numMasking - count, rng, "unmasked");
      for (int i = 0; i < mask.length; i++) {
        mask[i] |= extra[i];
      }
    }
    return mask;
  }

  /**
   * One call of the reference's {@code _mask(mask, max_mask_patches)}: up to {@value #ATTEMPTS}
   * attempts to drop a rectangle that adds between 1 and {@code cap} new cells. Marks the new cells
   * in {@code mask} and returns the accepted block, or {@code null} when every attempt failed (the
   * reference then returns delta = 0 and the outer loop stops). At most one block is accepted per call
   * because the reference leaves the attempt loop as soon as delta &gt; 0.
   */
  PlacedBlock placeBlock(boolean[] mask, int cap, RandomGenerator rng) {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      double targetArea = minNumPatches + (cap - minNumPatches) * rng.nextDouble();
      double aspect = Math.exp(logMinAspect + (logMaxAspect - logMinAspect) * rng.nextDouble());
      int h = (int) Math.rint(Math.sqrt(targetArea * aspect));
      int w = (int) Math.rint(Math.sqrt(targetArea / aspect));
      if (w < gridW && h < gridH) {
        int top = rng.nextInt(gridH - h + 1);
        int left = rng.nextInt(gridW - w + 1);
        int already = 0;
        for (int i = top; i < top + h; i++) {
          for (int j = left; j < left + w; j++) {
            if (mask[i * gridW + j]) {
              already++;
            }
          }
        }
        int fresh = h * w - already;
        if (fresh > 0 && fresh <= cap) {
          for (int i = top; i < top + h; i++) {
            for (int j = left; j < left + w; j++) {
              mask[i * gridW + j] = true;
            }
          }
          return new PlacedBlock(top, left, h, w, fresh, targetArea, aspect);
        }
      }
    }
    return null;
  }

  public int gridH() {
    return gridH;
  }

  public int gridW() {
    return gridW;
  }

  /** Target count M (exact with {@code exactCount}, an upper bound otherwise). */
  public int numMasking() {
    return numMasking;
  }

  public int minNumPatches() {
    return minNumPatches;
  }

  public int maxNumPatches() {
    return maxNumPatches;
  }

  public double minAspect() {
    return minAspect;
  }

  public double maxAspect() {
    return maxAspect;
  }

  public boolean exactCount() {
    return exactCount;
  }

  @Override
  public String toString() {
    return String.format(
        "BlockMaskGenerator[%dx%d, M=%d, block %d..%d, aspect %.4g..%.4g, %s]",
        gridH,
        gridW,
        numMasking,
        minNumPatches,
        maxNumPatches,
        minAspect,
        maxAspect,
        exactCount ? "exact (v2)" : "at most M (v1)");
  }

  /**
   * A rectangle accepted by {@link #placeBlock}, with the drawn target area and aspect it came from.
   *
   * @param added cells newly masked by this block (1..cap)
   */
  record PlacedBlock(
      int top, int left, int height, int width, int added, double targetArea, double aspect) {}
}
