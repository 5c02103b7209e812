package org.mimtf.data.masking;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.ComplementaryMasking;
import org.mimtf.data.masking.ComplementaryMaskGenerator.ComplementaryMasks;

class ComplementaryMaskGeneratorTest {

  @Test
  void fromConfigNeedsTheResolvedCounts() {
    // the ratios alone are not read: the resolver derives the counts once (RecipeLoaderTest)
    assertThrows(IllegalArgumentException.class,
        () -> ComplementaryMaskGenerator.fromConfig(ComplementaryMasking.getDefaultInstance(), 196));
  }

  @Test
  void mocaCountsForN196() {
    int[] c = ComplementaryMaskGenerator.counts(196, 0.55f, 0.75f, 0.2f);
    assertArrayEquals(new int[] {88, 49, 39}, c);
    ComplementaryMaskGenerator gen = ComplementaryMaskGenerator.fromConfig(ComplementaryMasking.getDefaultInstance()
        .toBuilder().setNumVisibleFirst(c[0]).setNumVisibleSecond(c[1]).setNumPredicted(c[2]).build(), 196);
    assertEquals(88, gen.keep1());
    assertEquals(127, gen.dec1());
    assertEquals(49, gen.keep2());
    assertEquals(88, gen.dec2());
    assertEquals(39, gen.numPredicted());
    ComplementaryMasks m = gen.generate(new SplittableRandom(1));
    assertEquals(88, m.keep1());
    assertEquals(127, m.dec1());
    assertEquals(49, m.keep2());
    assertEquals(88, m.dec2());
    assertEquals(39, m.numPredicted());
  }

  @Test
  void countsForN49() {
    // keep1 = floor(49 * 0.45) = 22, P = floor(49 * 0.2) = 9, keep2 = floor(49 * 0.25) = 12.
    ComplementaryMaskGenerator gen = new ComplementaryMaskGenerator(49, 0.55f, 0.75f, 0.2f);
    assertEquals(22, gen.keep1());
    assertEquals(31, gen.dec1());
    assertEquals(12, gen.keep2());
    assertEquals(21, gen.dec2());
  }

  @Test
  void roundsAreComplementaryAndSharePredictedSet() {
    for (int n : new int[] {196, 49, 64}) {
      ComplementaryMaskGenerator gen = new ComplementaryMaskGenerator(n, 0.55f, 0.75f, 0.2f);
      SplittableRandom rng = new SplittableRandom(n);
      for (int t = 0; t < 300; t++) {
        ComplementaryMasks m = gen.generate(rng);
        assertPermutation(m.order1(), n);
        assertPermutation(m.order2(), n);
        Set<Integer> e1 = slice(m.order1(), 0, m.keep1());
        Set<Integer> p1 = slice(m.order1(), m.keep1(), m.dec1());
        Set<Integer> e2 = slice(m.order2(), 0, m.keep2());
        Set<Integer> p2 = slice(m.order2(), m.keep2(), m.dec2());
        Set<Integer> r1 = slice(m.order1(), m.dec1(), n);
        assertEquals(p1, p2, "predicted sets differ");
        assertEquals(m.dec1() - m.keep1(), m.dec2() - m.keep2());
        for (int v : e2) {
          assertFalse(e1.contains(v), "round-2 visible token also visible in round 1");
          assertFalse(p1.contains(v), "round-2 visible token is a predicted token");
          assertTrue(r1.contains(v));
        }
        // s2 = [E2, P, R1[keep2:], E1]: round-1 visible tokens close the round-2 order.
        assertEquals(e1, slice(m.order2(), n - m.keep1(), n));
      }
    }
  }

  @Test
  void visibleTokensAreUniform() {
    ComplementaryMaskGenerator gen = new ComplementaryMaskGenerator(196, 0.55f, 0.75f, 0.2f);
    SplittableRandom rng = new SplittableRandom(2);
    int draws = 4000;
    long[] first = new long[196];
    long[] second = new long[196];
    for (int t = 0; t < draws; t++) {
      ComplementaryMasks m = gen.generate(rng);
      for (int i = 0; i < m.keep1(); i++) {
        first[m.order1()[i]]++;
      }
      for (int i = 0; i < m.keep2(); i++) {
        second[m.order2()[i]]++;
      }
    }
    UniformityCheck.assertUniform(first, draws, 88 / 196.0);
    UniformityCheck.assertUniform(second, draws, 49 / 196.0);
  }

  @Test
  void rejectsRoundTwoThatCannotFitInRemainder() {
    // keep1 = 137, P = 39, remainder 20 < keep2 = 98.
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new ComplementaryMaskGenerator(196, 0.3f, 0.5f, 0.2f));
    assertTrue(e.getMessage().contains("keep2 = 98"), e.getMessage());
    assertTrue(e.getMessage().contains("= 20"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new ComplementaryMaskGenerator(196, 0.1f, 0.95f, 0.2f));
    assertTrue(e.getMessage().contains("exceed N = 196"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> new ComplementaryMaskGenerator(196, 1.0f, 0.75f, 0f));
  }

  @Test
  void sameSeedSameOrders() {
    ComplementaryMaskGenerator gen = new ComplementaryMaskGenerator(196, 0.55f, 0.75f, 0.2f);
    ComplementaryMasks a = gen.generate(new SplittableRandom(11));
    ComplementaryMasks b = gen.generate(new SplittableRandom(11));
    assertArrayEquals(a.order1(), b.order1());
    assertArrayEquals(a.order2(), b.order2());
  }

  private static void assertPermutation(int[] order, int n) {
    assertEquals(n, order.length);
    boolean[] seen = new boolean[n];
    for (int v : order) {
      assertFalse(seen[v], "duplicate " + v);
      seen[v] = true;
    }
  }

  private static Set<Integer> slice(int[] a, int from, int to) {
    Set<Integer> s = new HashSet<>();
    for (int i = from; i < to; i++) {
      s.add(a[i]);
    }
    return s;
  }
}
