package org.mimtf.eval;

import com.google.common.collect.ImmutableList;
import java.util.SplittableRandom;

/**
 * The linear probe's λ chosen on a held-out part of the train set, as the L-BFGS linear evaluations
 * of SimCLR (appendix B.5) and Kornblith et al. ("Do Better ImageNet Models Transfer Better?", §3)
 * do: fit the probe for every λ of a grid on the train set minus a validation split, keep the λ with
 * the best validation accuracy, and refit on the whole train set with it. The test set plays no part
 * in the choice.
 *
 * <p>Why: a fixed λ favours whichever feature it happens to suit. A small one (1e-4, the default)
 * leaves a 128-d probe on 5,000 images free to fit noise in one feature and not in another; a
 * selected one gives each feature its own best regularisation, which is the comparison a probe is
 * meant to make (a random-init baseline gets the same search as the pre-trained encoder).
 *
 * <p>The split is a seeded random permutation of the train rows (not stratified: with 10 balanced
 * classes and ≥ 1,000 held-out rows a class's share moves by a few rows). Ties go to the larger λ,
 * the simpler model. Each candidate is solved to convergence by {@link LbfgsProbe}, from W = 0.
 */
public final class ProbeRegularization {
  private ProbeRegularization() {}

  /**
   * Half-decades from 1e-8 to 1 (17 values). The low end matters: on the bundled 5,000 images the
   * ConMIM and BEiT v2 features chose 1e-6, the low end of a grid that stopped there.
   */
  public static final ImmutableList<Float> DEFAULT_GRID = ImmutableList.of(1e-8f, 3e-8f, 1e-7f, 3e-7f,
      1e-6f, 3e-6f, 1e-5f, 3e-5f, 1e-4f, 3e-4f, 1e-3f, 3e-3f, 1e-2f, 3e-2f, 1e-1f, 3e-1f, 1f);

  /**
   * The outcome of a search.
   *
   * @param weightDecay the chosen λ
   * @param grid the candidates, in the order given
   * @param validationTop1 validation accuracy per candidate, aligned with {@code grid}
   * @param validationRows rows held out for the choice
   * @param result the probe refitted on the whole train set with the chosen λ, scored on the test set
   */
  public record Selection(float weightDecay, ImmutableList<Float> grid, double[] validationTop1, int validationRows,
      LinearProbe.Result result) {}

  /**
   * Chooses λ from {@code grid} on a validation split of the train set, then refits and scores.
   *
   * @param validationFraction share of the train rows held out, in (0, 1)
   * @param seed the split's permutation seed
   * @param maxIterations L-BFGS iterations per fit
   */
  public static Selection select(float[] train, int[] trainLabels, float[] test, int[] testLabels, int d,
      int numClasses, ImmutableList<Float> grid, double validationFraction, long seed, int maxIterations) {
    if (grid.isEmpty()) {
      throw new IllegalArgumentException("the weight-decay grid is empty");
    }
    if (!(validationFraction > 0 && validationFraction < 1)) {
      throw new IllegalArgumentException("validationFraction must be in (0, 1), got " + validationFraction);
    }
    int n = Features.rows("train", train, d);
    Features.checkLabels("train", trainLabels, n, numClasses);
    int nVal = (int) Math.round(n * validationFraction);
    if (nVal < 1 || nVal > n - 1) {
      throw new IllegalArgumentException("a validation split of " + validationFraction + " of " + n
          + " train rows leaves no rows on one side: the λ search needs at least 2 train rows");
    }
    int[] order = permutation(n, seed);
    int nFit = n - nVal;
    float[] fitX = new float[nFit * d];
    int[] fitY = new int[nFit];
    float[] valX = new float[nVal * d];
    int[] valY = new int[nVal];
    for (int i = 0; i < n; i++) {
      int src = order[i];
      if (i < nFit) {
        System.arraycopy(train, src * d, fitX, i * d, d);
        fitY[i] = trainLabels[src];
      } else {
        System.arraycopy(train, src * d, valX, (i - nFit) * d, d);
        valY[i - nFit] = trainLabels[src];
      }
    }
    double tolerance = LbfgsProbe.Options.defaults().tolerance();
    double[] valTop1 = new double[grid.size()];
    int best = -1;
    for (int k = 0; k < grid.size(); k++) {
      float lambda = grid.get(k);
      valTop1[k] = LbfgsProbe.fit(fitX, fitY, valX, valY, d, numClasses,
          new LbfgsProbe.Options(lambda, maxIterations, tolerance)).testTop1();
      if (best < 0 || valTop1[k] > valTop1[best] || (valTop1[k] == valTop1[best] && lambda > grid.get(best))) {
        best = k;
      }
    }
    float chosen = grid.get(best);
    LinearProbe.Result result = LbfgsProbe.fit(train, trainLabels, test, testLabels, d, numClasses,
        new LbfgsProbe.Options(chosen, maxIterations, tolerance));
    return new Selection(chosen, grid, valTop1, nVal, result);
  }

  /** A uniform permutation of 0..n−1 (Fisher–Yates) from {@code SplittableRandom(seed)}. */
  static int[] permutation(int n, long seed) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    org.mimtf.util.Seeds.shuffle(p, new SplittableRandom(seed));
    return p;
  }
}
