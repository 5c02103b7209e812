package org.mimtf.data.masking;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.BlockMasking;
import org.mimtf.data.masking.BlockMaskGenerator.PlacedBlock;

class BlockMaskGeneratorTest {
  private static final int H = 14;
  private static final int W = 14;

  private static BlockMaskGenerator beit(boolean exact) {
    return new BlockMaskGenerator(H, W, 75, 16, 75, 0.3, 1 / 0.3, exact);
  }

  @Test
  void v2AlwaysMasksExactlyM() {
    BlockMaskGenerator gen = beit(true);
    SplittableRandom rng = new SplittableRandom(1);
    for (int t = 0; t < 3000; t++) {
      assertEquals(75, Sampling.count(gen.generate(rng)));
    }
  }

  @Test
  void v1NeverExceedsMAndSometimesFallsShort() {
    BlockMaskGenerator gen = beit(false);
    SplittableRandom rng = new SplittableRandom(2);
    int below = 0;
    long total = 0;
    int draws = 3000;
    for (int t = 0; t < draws; t++) {
      int c = Sampling.count(gen.generate(rng));
      assertTrue(c <= 75 && c >= 1, "count " + c);
      total += c;
      if (c < 75) {
        below++;
      }
    }
    // The loop stops after 10 failed attempts, which happens regularly near the end (cap < 16):
    // v1's count is a random variable at or below M, not a constant.
    assertTrue(below > 0, "v1 never fell short of M");
    assertTrue(total / (double) draws > 60, "mean count " + total / (double) draws);
  }

  @Test
  void placedBlocksRespectAspectAreaAndGrid() {
    BlockMaskGenerator gen = beit(true);
    SplittableRandom rng = new SplittableRandom(3);
    double lo = 0.3;
    double hi = 1 / 0.3;
    int placed = 0;
    for (int t = 0; t < 5000; t++) {
      boolean[] mask = new boolean[H * W];
      PlacedBlock b = gen.placeBlock(mask, 75, rng);
      if (b == null) {
        continue;
      }
      placed++;
      assertTrue(b.aspect() >= lo && b.aspect() <= hi, "aspect " + b.aspect());
      assertTrue(b.targetArea() >= 16 && b.targetArea() <= 75, "area " + b.targetArea());
      assertEquals((int) Math.rint(Math.sqrt(b.targetArea() * b.aspect())), b.height());
      assertEquals((int) Math.rint(Math.sqrt(b.targetArea() / b.aspect())), b.width());
      // The realised h/w is the drawn aspect up to rounding of each side by at most 1/2.
      double h = b.height();
      double w = b.width();
      assertTrue((h - 0.5) / (w + 0.5) <= hi, b.toString());
      assertTrue((h + 0.5) / (w - 0.5) >= lo, b.toString());
      assertTrue(b.height() < H && b.width() < W, b.toString());
      assertTrue(b.top() + b.height() <= H && b.left() + b.width() <= W, b.toString());
      // On an empty mask the block adds exactly its area, and only its own cells are marked.
      assertEquals(b.height() * b.width(), b.added());
      for (int i = 0; i < H; i++) {
        for (int j = 0; j < W; j++) {
          boolean inside =
              i >= b.top() && i < b.top() + b.height() && j >= b.left() && j < b.left() + b.width();
          assertEquals(inside, mask[i * W + j], "cell " + i + "," + j + " of " + b);
        }
      }
    }
    assertTrue(placed > 4000, "placed " + placed);
  }

  @Test
  void placeBlockSwapsAreaBoundsWhenCapIsBelowMinimum() {
    BlockMaskGenerator gen = beit(false);
    SplittableRandom rng = new SplittableRandom(4);
    for (int t = 0; t < 2000; t++) {
      boolean[] mask = new boolean[H * W];
      PlacedBlock b = gen.placeBlock(mask, 5, rng);
      if (b != null) {
        // random.uniform(16, 5): area drawn from [5, 16]; the block itself adds at most 5.
        assertTrue(b.targetArea() >= 5 && b.targetArea() <= 16, "area " + b.targetArea());
        assertTrue(b.added() >= 1 && b.added() <= 5, b.toString());
      }
    }
  }

  @Test
  void placeBlockOnFullMaskFailsAndChangesNothing() {
    BlockMaskGenerator gen = beit(false);
    boolean[] mask = new boolean[H * W];
    java.util.Arrays.fill(mask, true);
    assertNull(gen.placeBlock(mask, 75, new SplittableRandom(5)));
    assertEquals(H * W, Sampling.count(mask));
  }

  @Test
  void placeBlockAddsOnlyUnmaskedCellsOnTopOfExistingMask() {
    BlockMaskGenerator gen = beit(false);
    SplittableRandom rng = new SplittableRandom(6);
    for (int t = 0; t < 500; t++) {
      boolean[] mask = gen.generate(rng);
      boolean[] before = mask.clone();
      int cap = 10;
      PlacedBlock b = gen.placeBlock(mask, cap, rng);
      int diff = Sampling.count(mask) - Sampling.count(before);
      if (b == null) {
        assertArrayEquals(before, mask);
      } else {
        assertEquals(b.added(), diff);
        assertTrue(diff >= 1 && diff <= cap);
        for (int i = 0; i < mask.length; i++) {
          assertTrue(!before[i] || mask[i], "a masked cell was unmasked");
        }
      }
    }
  }

  @Test
  void everyCellIsReachableAndFrequenciesAreMirrorSymmetric() {
    // Block masks are not uniform over cells (a rectangle covers border cells less often), but the
    // process is symmetric: top ~ randint(0, H-h) is invariant under reflection, and with max_aspect =
    // 1/min_aspect the log-uniform aspect is symmetric, so h and w swap in distribution. Hence the
    // per-cell frequency must agree between a cell and its mirror images. Each comparison is a
    // difference of two counts with variance <= 2 T p (1-p) <= T/2; allow 6 standard deviations.
    BlockMaskGenerator gen = beit(true);
    SplittableRandom rng = new SplittableRandom(7);
    int draws = 20000;
    long[] counts = new long[H * W];
    for (int t = 0; t < draws; t++) {
      UniformityCheck.accumulate(counts, gen.generate(rng));
    }
    double tolerance = 6 * Math.sqrt(draws / 2.0);
    for (int i = 0; i < H; i++) {
      for (int j = 0; j < W; j++) {
        long c = counts[i * W + j];
        assertTrue(c > 0, "cell " + i + "," + j + " never masked");
        long vertical = counts[(H - 1 - i) * W + j];
        long horizontal = counts[i * W + (W - 1 - j)];
        long transposed = counts[j * W + i];
        assertTrue(Math.abs(c - vertical) < tolerance, "vertical mirror at " + i + "," + j);
        assertTrue(Math.abs(c - horizontal) < tolerance, "horizontal mirror at " + i + "," + j);
        assertTrue(Math.abs(c - transposed) < tolerance, "transpose at " + i + "," + j);
      }
    }
    // Mean frequency is M / N exactly for v2.
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    assertEquals(75L * draws, total);
  }

  @Test
  void sameSeedSameMasks() {
    BlockMaskGenerator gen = beit(true);
    SplittableRandom a = new SplittableRandom(42);
    SplittableRandom b = new SplittableRandom(42);
    for (int t = 0; t < 50; t++) {
      assertArrayEquals(gen.generate(a), gen.generate(b));
    }
    boolean anyDifferent = false;
    SplittableRandom c = new SplittableRandom(43);
    SplittableRandom d = new SplittableRandom(42);
    for (int t = 0; t < 10; t++) {
      anyDifferent |= !java.util.Arrays.equals(gen.generate(c), gen.generate(d));
    }
    assertTrue(anyDifferent);
  }

  @Test
  void countFromRatioRoundsHalfToEven() {
    // round(0.4 * 196) = round(78.4) = 78; Python's round is half-to-even: 0.5 * 9 = 4.5 -> 4,
    // 0.5 * 25 = 12.5 -> 12, 0.5 * 49 = 24.5 -> 24 (the small recipes' 7x7 grid).
    assertEquals(78, BlockMaskGenerator.countFromRatio(0.4f, 196));
    assertEquals(4, BlockMaskGenerator.countFromRatio(0.5f, 9));
    assertEquals(12, BlockMaskGenerator.countFromRatio(0.5f, 25));
    assertEquals(24, BlockMaskGenerator.countFromRatio(0.5f, 49));
    assertEquals(74, BlockMaskGenerator.countFromRatio(0.375f, 196)); // 73.5 -> 74 (even)
  }

  @Test
  void fromConfigReadsTheResolvedCount() {
    BlockMaskGenerator beit =
        BlockMaskGenerator.fromConfig(
            BlockMasking.newBuilder().setNumMaskingPatches(75).setMaxNumPatches(75).setExactCount(false).build(),
            14, 14);
    assertEquals(75, beit.numMasking());
    assertEquals(75, beit.maxNumPatches());
    assertEquals(16, beit.minNumPatches());
    assertEquals(0.3, beit.minAspect(), 1e-12);
    assertEquals(1 / 0.3, beit.maxAspect(), 1e-12); // max_aspect 0 = 1 / min_aspect in double precision
    assertFalse(beit.exactCount());
    // an unresolved config (count 0) is refused rather than re-derived here
    assertThrows(IllegalArgumentException.class,
        () -> BlockMaskGenerator.fromConfig(BlockMasking.getDefaultInstance(), 14, 14));
  }

  @Test
  void smallGridExactCount() {
    // CCViT small recipe: 7x7 grid, 20 masked, min block 4.
    BlockMaskGenerator gen = new BlockMaskGenerator(7, 7, 20, 4, 20, 0.3, 1 / 0.3, true);
    SplittableRandom rng = new SplittableRandom(8);
    for (int t = 0; t < 1000; t++) {
      assertEquals(20, Sampling.count(gen.generate(rng)));
    }
  }

  @Test
  void rejectsBadArguments() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new BlockMaskGenerator(14, 14, 197, 16, 75, 0.3, 3.3, true));
    assertTrue(e.getMessage().contains("num_masking_patches (197)"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new BlockMaskGenerator(14, 14, 75, 16, 75, 0.5, 0.3, true));
    assertTrue(e.getMessage().contains("max_aspect (0.3)"), e.getMessage());
    assertNotNull(beit(true).toString());
  }
}
