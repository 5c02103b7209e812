package org.mimtf.data.masking;

import java.util.random.RandomGenerator;

/**
 * Sampling helpers shared by the mask generators.
 *
 * <p>The reference implementations draw random subsets with {@code np.random.permutation(n)[:k]},
 * {@code np.random.choice(n, k, replace=False)} or {@code argsort(uniform noise)}; all three yield a
 * uniformly random ordered k-subset, which is exactly what a partial Fisher-Yates shuffle produces in
 * O(k) draws without sorting or boxing.
 */
final class Sampling {
  private Sampling() {}

  /** {@code 0, 1, ..., n-1}. */
  static int[] identity(int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    return a;
  }

  /**
   * Shuffles the first {@code k} slots of {@code a} so that {@code a[0:k]} is a uniformly random
   * ordered sample without replacement of the elements of {@code a} (partial Fisher-Yates). With
   * {@code k >= a.length - 1} the whole array is a uniform random permutation.
   */
  static void partialShuffle(int[] a, int k, RandomGenerator rng) {
    int n = a.length;
    int last = Math.min(k, n - 1);
    for (int i = 0; i < last; i++) {
      int j = i + rng.nextInt(n - i);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  /** A uniform random permutation of {@code 0..n-1}. */
  static int[] permutation(int n, RandomGenerator rng) {
    int[] a = identity(n);
    partialShuffle(a, n, rng);
    return a;
  }

  /**
   * Chooses {@code count} positions uniformly without replacement among the positions {@code i} with
   * {@code flags[i] == wanted}, and returns them as a new boolean array (true = chosen).
   *
   * @param what names the population in the error message, e.g. "unmasked"
   */
  static boolean[] choose(
      boolean[] flags, boolean wanted, int count, RandomGenerator rng, String what) {
    if (count < 0) {
      throw new IllegalArgumentException("count (" + count + ") must be >= 0");
    }
    int available = 0;
    for (boolean f : flags) {
      if (f == wanted) {
        available++;
      }
    }
    if (count > available) {
      throw new IllegalArgumentException(
          "count ("
              + count
              + ") must not exceed the number of "
              + what
              + " positions ("
              + available
              + " of "
              + flags.length
              + ")");
    }
    int[] candidates = new int[available];
    for (int i = 0, j = 0; i < flags.length; i++) {
      if (flags[i] == wanted) {
        candidates[j++] = i;
      }
    }
    partialShuffle(candidates, count, rng);
    boolean[] chosen = new boolean[flags.length];
    for (int i = 0; i < count; i++) {
      chosen[candidates[i]] = true;
    }
    return chosen;
  }

  /**
   * The decimal value a recipe author wrote for a float field ({@code 0.55f} becomes {@code 0.55},
   * not {@code 0.550000011920929}). The reference code computes counts such as {@code int(N * (1 -
   * 0.55))} in Python doubles; going through the shortest decimal representation reproduces those
   * counts instead of drifting by one at exact boundaries.
   */
  static double decimal(float value) {
    return Double.parseDouble(Float.toString(value));
  }

  /** Number of {@code true} entries. */
  static int count(boolean[] mask) {
    int n = 0;
    for (boolean b : mask) {
      if (b) {
        n++;
      }
    }
    return n;
  }
}
