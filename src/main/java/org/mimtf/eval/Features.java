package org.mimtf.eval;

/** Argument checks and small helpers shared by the frozen-feature evaluations. */
final class Features {
  private Features() {}

  /** The number of rows of a row-major [n, d] matrix; rejects a ragged length. */
  static int rows(String what, float[] x, int d) {
    if (x == null) {
      throw new IllegalArgumentException(what + " features are null");
    }
    if (d < 1) {
      throw new IllegalArgumentException("feature dimension d must be >= 1, got " + d);
    }
    if (x.length % d != 0) {
      throw new IllegalArgumentException(what + " features have " + x.length
          + " values, not a multiple of d = " + d + " (expected row-major [n, d])");
    }
    return x.length / d;
  }

  /** Checks that there is one label per row, each in [0, numClasses). */
  static void checkLabels(String what, int[] labels, int n, int numClasses) {
    if (numClasses < 1) {
      throw new IllegalArgumentException("numClasses must be >= 1, got " + numClasses);
    }
    if (labels == null) {
      throw new IllegalArgumentException(what + " labels are null");
    }
    if (labels.length != n) {
      throw new IllegalArgumentException(what + " has " + n + " feature rows but " + labels.length + " labels");
    }
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= numClasses) {
        throw new IllegalArgumentException(what + " label " + i + " is " + labels[i]
            + ", outside [0, " + numClasses + ")");
      }
    }
  }

  /** Rejects NaN and infinite feature values (they would poison a matrix product silently). */
  static void checkFinite(String what, float[] x, int d) {
    for (int i = 0; i < x.length; i++) {
      if (!Float.isFinite(x[i])) {
        throw new IllegalArgumentException(what + " feature [" + (i / d) + ", " + (i % d) + "] is " + x[i]);
      }
    }
  }

  /** Index of the largest of {@code n} values from {@code off}; the lowest index wins a tie. */
  static int argmax(float[] v, int off, int n) {
    int best = 0;
    for (int c = 1; c < n; c++) {
      if (v[off + c] > v[off + best]) {
        best = c;
      }
    }
    return best;
  }

  /**
   * Checks a train and a test split of {@code d}-dimensional features and their labels in
   * {@code [0, numClasses)} (row counts, label counts and range, finite values): what k-NN and the
   * linear probe both need. Returns {nTrain, nTest}.
   */
  static int[] checkSplits(float[] train, int[] trainLabels, float[] test, int[] testLabels, int d,
      int numClasses) {
    int nTrain = rows("train", train, d);
    int nTest = rows("test", test, d);
    checkLabels("train", trainLabels, nTrain, numClasses);
    checkLabels("test", testLabels, nTest, numClasses);
    checkFinite("train", train, d);
    checkFinite("test", test, d);
    return new int[] {nTrain, nTest};
  }

  /**
   * The 0-based rank of class {@code c} when the {@code n} scores from {@code off} are sorted best
   * first with ties broken towards the lower class id: the number of classes ranked before it.
   */
  static int rank(float[] v, int off, int n, int c) {
    float sc = v[off + c];
    int before = 0;
    for (int j = 0; j < n; j++) {
      float sj = v[off + j];
      if (sj > sc || (sj == sc && j < c)) {
        before++;
      }
    }
    return before;
  }
}
