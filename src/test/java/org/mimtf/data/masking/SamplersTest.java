package org.mimtf.data.masking;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplersTest {

  @Test
  void replacedPositionsAreUnmaskedAndExactlyCount() {
    // CCViT: 75 block-masked + 20 replaced among the 121 unmasked patches.
    BlockMaskGenerator gen = new BlockMaskGenerator(14, 14, 75, 16, 75, 0.3, 1 / 0.3, true);
    SplittableRandom rng = new SplittableRandom(1);
    for (int t = 0; t < 1000; t++) {
      boolean[] mask = gen.generate(rng);
      boolean[] replaced = ReplacementSampler.sample(mask, 20, rng);
      assertEquals(20, Sampling.count(replaced));
      for (int i = 0; i < mask.length; i++) {
        assertFalse(mask[i] && replaced[i], "position " + i + " both masked and replaced");
      }
    }
  }

  @Test
  void replacementIsUniformAmongUnmasked() {
    boolean[] mask = new boolean[64];
    for (int i = 0; i < 64; i += 3) {
      mask[i] = true; // 22 masked, 42 unmasked
    }
    SplittableRandom rng = new SplittableRandom(2);
    int draws = 5000;
    long[] counts = new long[64];
    for (int t = 0; t < draws; t++) {
      UniformityCheck.accumulate(counts, ReplacementSampler.sample(mask, 6, rng));
    }
    long[] unmasked = new long[42];
    for (int i = 0, j = 0; i < 64; i++) {
      if (mask[i]) {
        assertEquals(0, counts[i]);
      } else {
        unmasked[j++] = counts[i];
      }
    }
    UniformityCheck.assertUniform(unmasked, draws, 6 / 42.0);
  }

  @Test
  void replacementFailsWhenTooFewUnmasked() {
    boolean[] mask = new boolean[10];
    java.util.Arrays.fill(mask, 0, 8, true);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ReplacementSampler.sample(mask, 3, new SplittableRandom(0)));
    assertTrue(e.getMessage().contains("unmasked positions (2 of 10)"), e.getMessage());
    assertEquals(2, Sampling.count(ReplacementSampler.sample(mask, 2, new SplittableRandom(0))));
  }

  @Test
  void partialDecodingPicksMaskedSubset() {
    RandomMaskGenerator gen =
        new RandomMaskGenerator(
            14, 14, 0.75, 1, org.mimtf.config.proto.RandomMasking.Rounding.KEEP_FLOOR);
    SplittableRandom rng = new SplittableRandom(3);
    int draws = 4000;
    boolean[] mask = gen.generate(rng);
    long[] counts = new long[196];
    for (int t = 0; t < draws; t++) {
      boolean[] dec = PartialDecodingSampler.sample(mask, 39, rng);
      assertEquals(39, Sampling.count(dec));
      for (int i = 0; i < mask.length; i++) {
        assertTrue(!dec[i] || mask[i], "decoded position " + i + " is not masked");
      }
      UniformityCheck.accumulate(counts, dec);
    }
    long[] masked = new long[147];
    for (int i = 0, j = 0; i < 196; i++) {
      if (mask[i]) {
        masked[j++] = counts[i];
      }
    }
    UniformityCheck.assertUniform(masked, draws, 39 / 147.0);
    assertThrows(
        IllegalArgumentException.class,
        () -> PartialDecodingSampler.sample(mask, 148, new SplittableRandom(0)));
  }

  @Test
  void sameSeedSameSelection() {
    boolean[] mask = new boolean[49];
    mask[3] = mask[10] = mask[11] = true;
    assertArrayEquals(
        ReplacementSampler.sample(mask, 5, new SplittableRandom(7)),
        ReplacementSampler.sample(mask, 5, new SplittableRandom(7)));
  }
}
