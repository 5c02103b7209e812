package org.mimtf.api;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/** Loss pieces shared by the methods. */
public final class Losses {
  private Losses() {}

  /**
   * Mean cross-entropy of {@code logits} [M, K] against integer {@code labels} [M]. Uses the dense
   * kernel with one-hot labels: TF's sparse variant has no registered gradient (notes/tf-java.md §4).
   */
  public static Operand<TFloat32> crossEntropy(Ops tf, Operand<TFloat32> logits, Operand<TInt32> labels, int classes) {
    Operand<TFloat32> onehot = tf.oneHot(labels, tf.constant(classes), tf.constant(1f), tf.constant(0f));
    return softCrossEntropy(tf, logits, onehot);
  }

  /** Mean cross-entropy with probability targets [M, K] (soft labels). */
  public static Operand<TFloat32> softCrossEntropy(Ops tf, Operand<TFloat32> logits, Operand<TFloat32> targets) {
    var ce = tf.nn.softmaxCrossEntropyWithLogits(logits, tf.stopGradient(targets));
    return tf.math.mean(ce.loss(), tf.constant(0));
  }

  /** Mean of {@code values} [B, N] over the positions where {@code mask} is true (0 if none). */
  public static Operand<TFloat32> maskedMean(Ops tf, Operand<TFloat32> values, Operand<TBool> mask) {
    Operand<TFloat32> m = tf.dtypes.cast(mask, TFloat32.class);
    Operand<TInt32> all = tf.constant(new int[] {0, 1});
    return tf.math.divNoNan(tf.sum(tf.math.mul(values, m), all), tf.sum(m, all));
  }

  /** Unbiased variance over the last axis (PyTorch's default), keeping the axis. */
  public static Operand<TFloat32> unbiasedVariance(Ops tf, Operand<TFloat32> x) {
    Operand<TFloat32> mean = tf.math.mean(x, tf.constant(-1), Mean.keepDims(true));
    long n = x.shape().get(x.shape().numDimensions() - 1);
    if (n <= 1) {
      throw new IllegalArgumentException("unbiased variance needs a static last dimension > 1, got " + x.shape());
    }
    Operand<TFloat32> ss = tf.sum(tf.math.square(tf.math.sub(x, mean)), tf.constant(-1), Sum.keepDims(true));
    return tf.math.div(ss, tf.constant((float) (n - 1)));
  }

  /**
   * MAE-style per-patch normalisation of pixel targets: {@code (v − mean(v)) / sqrt(var(v) + eps)} with
   * the unbiased variance (ccvit.md §4).
   */
  public static Operand<TFloat32> normalizePerPatch(Ops tf, Operand<TFloat32> x, float eps) {
    Operand<TFloat32> mean = tf.math.mean(x, tf.constant(-1), Mean.keepDims(true));
    return tf.math.div(tf.math.sub(x, mean), tf.math.sqrt(tf.math.add(unbiasedVariance(tf, x), tf.constant(eps))));
  }
}
