package org.mimtf.data.masking;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import java.util.random.RandomGenerator;
import org.mimtf.config.proto.RandomMasking;
import org.mimtf.config.proto.RandomMasking.Rounding;

/**
 * Uniform random masking with the same number of masked patches in every sample, optionally in square
 * units of {@code unitSize x unitSize} patches.
 *
 * <p>Two reference behaviours are covered by {@link Rounding}:
 *
 * <ul>
 *   <li>{@code KEEP_FLOOR} (MAE / MOCA, common-vit.md §9): keep {@code floor(N * (1 - r))} units and
 *       mask the rest (N = 196, r = 0.75: 49 kept, 147 masked);
 *   <li>{@code MASK_CEIL} (SimMIM / ConMIM {@code MaskGenerator}, conmim.md §3): mask {@code ceil(U *
 *       r)} units. With a 14x14 grid, unit 2 and r = 0.75 that is {@code ceil(49 * 0.75) = 37} units =
 *       148 patches.
 * </ul>
 *
 * The masked units are a uniform random subset; each unit is expanded to all of its patches, so a unit
 * is always either fully masked or fully visible. Units must tile the grid exactly (SimMIM asserts the
 * same), otherwise the construction fails rather than silently leaving a border unmaskable.
 */
public final class RandomMaskGenerator {
  private final int gridH;
  private final int gridW;
  private final int unitSize;
  private final int unitsH;
  private final int unitsW;
  private final int maskedUnits;
  private final double maskRatio;
  private final Rounding rounding;

  /**
   * @param maskRatio fraction of units to mask, in [0, 1]
   * @param unitSize side of a mask unit in patches; must divide both grid sides
   * @param rounding how the fractional count is rounded
   */
  public RandomMaskGenerator(
      int gridH, int gridW, double maskRatio, int unitSize, Rounding rounding) {
    checkArgument(gridH > 0 && gridW > 0, "grid (%sx%s) must be positive", gridH, gridW);
    checkArgument(
        maskRatio >= 0 && maskRatio <= 1, "mask_ratio (%s) must be in [0, 1]", maskRatio);
    checkArgument(unitSize >= 1, "unit_size (%s) must be >= 1", unitSize);
    checkArgument(
        gridH % unitSize == 0 && gridW % unitSize == 0,
        "unit_size (%s) must divide the patch grid (%sx%s) so that mask units tile it",
        unitSize,
        gridH,
        gridW);
    checkArgument(rounding != null, "rounding must be set");
    this.gridH = gridH;
    this.gridW = gridW;
    this.unitSize = unitSize;
    this.unitsH = gridH / unitSize;
    this.unitsW = gridW / unitSize;
    this.maskRatio = maskRatio;
    this.rounding = rounding;
    int units = unitsH * unitsW;
    this.maskedUnits =
        switch (rounding) {
          case KEEP_FLOOR -> units - (int) Math.floor(units * (1.0 - maskRatio));
          case MASK_CEIL -> (int) Math.ceil(units * maskRatio);
        };
  }

  /** From the recipe; the float ratio is read as the decimal written (0.55, not 0.5500000119). */
  public static RandomMaskGenerator fromConfig(RandomMasking cfg, int gridH, int gridW) {
    return new RandomMaskGenerator(
        gridH, gridW, Sampling.decimal(cfg.getMaskRatio()), cfg.getUnitSize(), cfg.getRounding());
  }

  /** A new mask over the patch grid, row-major, {@code true} = masked; exactly {@link #numMasked()}. */
  public boolean[] generate(RandomGenerator rng) {
    int units = unitsH * unitsW;
    int[] order = Sampling.identity(units);
    Sampling.partialShuffle(order, maskedUnits, rng);
    boolean[] mask = new boolean[gridH * gridW];
    for (int k = 0; k < maskedUnits; k++) {
      int unit = order[k];
      int row0 = (unit / unitsW) * unitSize;
      int col0 = (unit % unitsW) * unitSize;
      for (int i = row0; i < row0 + unitSize; i++) {
        for (int j = col0; j < col0 + unitSize; j++) {
          mask[i * gridW + j] = true;
        }
      }
    }
    return mask;
  }

  /**
   * MAE {@code random_masking} in index form (common-vit.md §9): a uniform permutation
   * ({@code argsort} of i.i.d. uniform noise is one), the first {@link #numKeep()} entries visible.
   * Only defined per patch, i.e. for {@code unitSize == 1}.
   */
  public MaskIndices shuffle(RandomGenerator rng) {
    checkState(
        unitSize == 1,
        "shuffle() gives per-patch (MAE-style) indices and needs unit_size 1, not %s",
        unitSize);
    int n = gridH * gridW;
    int lenKeep = n - maskedUnits;
    int[] shuffle = Sampling.permutation(n, rng);
    int[] keep = new int[lenKeep];
    System.arraycopy(shuffle, 0, keep, 0, lenKeep);
    int[] restore = new int[n];
    for (int i = 0; i < n; i++) {
      restore[shuffle[i]] = i;
    }
    boolean[] mask = new boolean[n];
    for (int i = 0; i < n; i++) {
      mask[i] = restore[i] >= lenKeep;
    }
    return new MaskIndices(shuffle, keep, restore, mask);
  }

  /** Masked patches per sample (masked units times unitSize²). */
  public int numMasked() {
    return maskedUnits * unitSize * unitSize;
  }

  /** Visible patches per sample. */
  public int numKeep() {
    return gridH * gridW - numMasked();
  }

  /** Masked units per sample. */
  public int numMaskedUnits() {
    return maskedUnits;
  }

  public int gridH() {
    return gridH;
  }

  public int gridW() {
    return gridW;
  }

  public int unitSize() {
    return unitSize;
  }

  public double maskRatio() {
    return maskRatio;
  }

  public Rounding rounding() {
    return rounding;
  }

  @Override
  public String toString() {
    return String.format(
        "RandomMaskGenerator[%dx%d, unit %d, ratio %s %s: %d of %d patches masked]",
        gridH, gridW, unitSize, maskRatio, rounding, numMasked(), gridH * gridW);
  }
}
