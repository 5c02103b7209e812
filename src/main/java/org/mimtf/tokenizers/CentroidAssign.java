package org.mimtf.tokenizers;

import org.mimtf.nn.Compute;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Sum;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Nearest-centroid assignment in squared L2 as one matmul (CCViT Eq. 5, ccvit.md §2):
 * {@code argmin_k ||x − c_k||² = argmin_k (||c_k||² − 2 x·c_k)} — the {@code ||x||²} term is the same
 * for every k. Ties go to the lowest index (ArgMin's rule, as faiss).
 */
public final class CentroidAssign {
  private CentroidAssign() {}

  /** Ids [M] of the nearest centroid of each row of {@code x} [M, d]; {@code centroids} is [K, d]. */
  public static Operand<TInt32> ids(Ops tf, Compute c, Operand<TFloat32> x, Operand<TFloat32> centroids) {
    return tf.math.argMin(scores(tf, c, x, centroids), tf.constant(1), TInt32.class);
  }

  /** {@code ||c_k||² − 2 x·c_k}, [M, K]: the squared distance minus the row's own norm. */
  public static Operand<TFloat32> scores(Ops tf, Compute c, Operand<TFloat32> x, Operand<TFloat32> centroids) {
    Operand<TFloat32> cNorm = tf.sum(tf.math.square(centroids), tf.constant(1), Sum.keepDims(false));
    Operand<TFloat32> dots = c.matMul(tf, x, centroids, false, true);
    return tf.math.sub(cNorm, tf.math.mul(dots, tf.constant(2f)));
  }

  /** Full squared distances [M, K] (for objectives): {@link #scores} + ||x||², clamped at 0. */
  public static Operand<TFloat32> squaredDistances(Ops tf, Compute c, Operand<TFloat32> x, Operand<TFloat32> centroids) {
    Operand<TFloat32> xNorm = tf.sum(tf.math.square(x), tf.constant(1), Sum.keepDims(true));
    return tf.math.maximum(tf.math.add(scores(tf, c, x, centroids), xNorm), tf.constant(0f));
  }
}
