package org.mimtf.util;

import java.util.SplittableRandom;

/**
 * Derives independent, reproducible random streams from a recipe seed and coordinates such as
 * (epoch, example index). Every random draw of the input pipeline comes from a stream that depends
 * only on such coordinates, never on thread scheduling, so a run gives the same batches whatever the
 * worker count and resumes exactly from a saved element position.
 */
public final class Seeds {
  private Seeds() {}

  /** SplitMix64's finaliser: a bijective 64-bit mix with good avalanche. */
  public static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /** Combines a seed with coordinates into one well-mixed seed. */
  public static long combine(long seed, long... coordinates) {
    long h = mix64(seed ^ 0x9e3779b97f4a7c15L);
    for (long c : coordinates) {
      h = mix64(h + 0x9e3779b97f4a7c15L + mix64(c));
    }
    return h;
  }

  /** A generator for the given coordinates. */
  public static SplittableRandom stream(long seed, long... coordinates) {
    return new SplittableRandom(combine(seed, coordinates));
  }

  /**
   * Shuffles {@code a} in place by Fisher–Yates from the last index down, one {@code nextInt(i + 1)}
   * per position: the one shuffle every seeded order in mimtf uses, so that an order depends only on
   * its seed and length.
   */
  public static void shuffle(int[] a, SplittableRandom rng) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
