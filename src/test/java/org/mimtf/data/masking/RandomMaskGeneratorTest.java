package org.mimtf.data.masking;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.RandomMasking;
import org.mimtf.config.proto.RandomMasking.Rounding;

class RandomMaskGeneratorTest {

  @Test
  void conmimUnitMaskingMasks37UnitsOf2x2() {
    RandomMaskGenerator gen = new RandomMaskGenerator(14, 14, 0.75, 2, Rounding.MASK_CEIL);
    // ceil(49 * 0.75) = ceil(36.75) = 37 units = 148 patches (conmim.md §3).
    assertEquals(37, gen.numMaskedUnits());
    assertEquals(148, gen.numMasked());
    assertEquals(48, gen.numKeep());
    SplittableRandom rng = new SplittableRandom(1);
    for (int t = 0; t < 500; t++) {
      boolean[] mask = gen.generate(rng);
      assertEquals(148, Sampling.count(mask));
      for (int ui = 0; ui < 7; ui++) {
        for (int uj = 0; uj < 7; uj++) {
          boolean first = mask[(2 * ui) * 14 + 2 * uj];
          for (int di = 0; di < 2; di++) {
            for (int dj = 0; dj < 2; dj++) {
              assertEquals(
                  first, mask[(2 * ui + di) * 14 + 2 * uj + dj], "unit " + ui + "," + uj + " split");
            }
          }
        }
      }
    }
  }

  @Test
  void keepFloorCountsMatchMae() {
    // int(196 * (1 - 0.75)) = 49 kept; int(196 * (1 - 0.55)) = int(88.2) = 88 kept.
    assertEquals(49, new RandomMaskGenerator(14, 14, 0.75, 1, Rounding.KEEP_FLOOR).numKeep());
    assertEquals(88, new RandomMaskGenerator(14, 14, 0.55, 1, Rounding.KEEP_FLOOR).numKeep());
    // ConMIM ViT-S: unit 1, ceil(196 * 0.75) = 147 masked.
    assertEquals(147, new RandomMaskGenerator(14, 14, 0.75, 1, Rounding.MASK_CEIL).numMasked());
    // Recipe floats are read as decimals: 0.55f must not become 0.5500000119 (-> still 88 kept).
    RandomMaskGenerator fromCfg =
        RandomMaskGenerator.fromConfig(RandomMasking.newBuilder().setMaskRatio(0.55f).build(), 14, 14);
    assertEquals(88, fromCfg.numKeep());
    // 0.7 * 10 units: Python gives ceil(7.0) = 7, not 8.
    assertEquals(
        7,
        RandomMaskGenerator.fromConfig(
                RandomMasking.newBuilder()
                    .setMaskRatio(0.7f)
                    .setRounding(Rounding.MASK_CEIL)
                    .build(),
                2,
                5)
            .numMasked());
  }

  @Test
  void unitsMustTileTheGrid() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new RandomMaskGenerator(14, 14, 0.75, 3, Rounding.MASK_CEIL));
    assertTrue(
        e.getMessage().contains("unit_size (3) must divide the patch grid (14x14)"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> new RandomMaskGenerator(14, 14, 1.5, 1, Rounding.KEEP_FLOOR));
  }

  @Test
  void everyPatchMaskedWithEqualFrequency() {
    RandomMaskGenerator gen = new RandomMaskGenerator(14, 14, 0.75, 1, Rounding.KEEP_FLOOR);
    SplittableRandom rng = new SplittableRandom(2);
    int draws = 4000;
    long[] counts = new long[196];
    for (int t = 0; t < draws; t++) {
      UniformityCheck.accumulate(counts, gen.generate(rng));
    }
    UniformityCheck.assertUniform(counts, draws, 147 / 196.0);
  }

  @Test
  void everyUnitMaskedWithEqualFrequency() {
    RandomMaskGenerator gen = new RandomMaskGenerator(14, 14, 0.75, 2, Rounding.MASK_CEIL);
    SplittableRandom rng = new SplittableRandom(3);
    int draws = 4000;
    long[] unitCounts = new long[49];
    for (int t = 0; t < draws; t++) {
      boolean[] mask = gen.generate(rng);
      for (int u = 0; u < 49; u++) {
        if (mask[(u / 7) * 2 * 14 + (u % 7) * 2]) {
          unitCounts[u]++;
        }
      }
    }
    UniformityCheck.assertUniform(unitCounts, draws, 37 / 49.0);
  }

  @Test
  void detectsABiasedSampler() {
    // The uniformity check has power: a sampler that never masks patch 0 fails it.
    long[] counts = new long[196];
    int draws = 4000;
    SplittableRandom rng = new SplittableRandom(4);
    RandomMaskGenerator gen = new RandomMaskGenerator(14, 14, 0.75, 1, Rounding.KEEP_FLOOR);
    for (int t = 0; t < draws; t++) {
      boolean[] mask = gen.generate(rng);
      if (mask[0]) {
        // move the mask from patch 0 to a visible patch
        mask[0] = false;
        for (int i = 1; i < mask.length; i++) {
          if (!mask[i]) {
            mask[i] = true;
            break;
          }
        }
      }
      UniformityCheck.accumulate(counts, mask);
    }
    assertTrue(
        UniformityCheck.statistic(counts, draws, 147 / 196.0) > UniformityCheck.threshold(196));
  }

  @Test
  void shuffleRestoreRoundTrip() {
    RandomMaskGenerator gen = new RandomMaskGenerator(14, 14, 0.75, 1, Rounding.KEEP_FLOOR);
    SplittableRandom rng = new SplittableRandom(5);
    int n = 196;
    int[] x = new int[n];
    for (int i = 0; i < n; i++) {
      x[i] = 1000 + i;
    }
    for (int t = 0; t < 200; t++) {
      MaskIndices m = gen.shuffle(rng);
      assertEquals(49, m.numKeep());
      // gather(gather(x, shuffle), restore) == x
      int[] shuffled = gather(x, m.shuffle());
      assertArrayEquals(x, gather(shuffled, m.restore()));
      // keep = shuffle[:len_keep]
      for (int i = 0; i < 49; i++) {
        assertEquals(m.shuffle()[i], m.keep()[i]);
      }
      // MAE decoder unshuffle: [x_vis, mask tokens] gathered with restore puts the visible tokens back
      // at their own positions and mask tokens (-1) exactly where mask is true.
      int[] withTokens = new int[n];
      java.util.Arrays.fill(withTokens, -1);
      System.arraycopy(gather(x, m.keep()), 0, withTokens, 0, 49);
      int[] unshuffled = gather(withTokens, m.restore());
      int masked = 0;
      for (int i = 0; i < n; i++) {
        if (m.mask()[i]) {
          masked++;
          assertEquals(-1, unshuffled[i]);
        } else {
          assertEquals(x[i], unshuffled[i]);
        }
      }
      assertEquals(147, masked);
    }
  }

  @Test
  void shuffleNeedsUnitSizeOne() {
    RandomMaskGenerator gen = new RandomMaskGenerator(14, 14, 0.75, 2, Rounding.MASK_CEIL);
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> gen.shuffle(new SplittableRandom(0)));
    assertTrue(e.getMessage().contains("unit_size 1"), e.getMessage());
  }

  @Test
  void sameSeedSameMasks() {
    RandomMaskGenerator gen = new RandomMaskGenerator(14, 14, 0.75, 2, Rounding.MASK_CEIL);
    SplittableRandom a = new SplittableRandom(9);
    SplittableRandom b = new SplittableRandom(9);
    for (int t = 0; t < 20; t++) {
      assertArrayEquals(gen.generate(a), gen.generate(b));
    }
    RandomMaskGenerator mae = new RandomMaskGenerator(14, 14, 0.75, 1, Rounding.KEEP_FLOOR);
    MaskIndices m1 = mae.shuffle(new SplittableRandom(10));
    MaskIndices m2 = mae.shuffle(new SplittableRandom(10));
    assertArrayEquals(m1.shuffle(), m2.shuffle());
    assertArrayEquals(m1.restore(), m2.restore());
  }

  private static int[] gather(int[] values, int[] idx) {
    int[] out = new int[idx.length];
    for (int i = 0; i < idx.length; i++) {
      out[i] = values[idx[i]];
    }
    return out;
  }
}
