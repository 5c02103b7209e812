package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;

/**
 * LayerNorm over the last axis: {@code (x − μ) / √(σ² + ε) · γ + β}, biased variance as PyTorch.
 * Computed in fp32 whatever the matmul precision. With {@code affine = false} it is the
 * parameter-free normalisation used on regression targets (SMR, FD-CLIP).
 */
public final class LayerNorm {
  private final Param gamma;
  private final Param beta;
  private final float eps;

  private LayerNorm(Param gamma, Param beta, float eps) {
    this.gamma = gamma;
    this.beta = beta;
    this.eps = eps;
  }

  /** Creates {@code <scope>/gamma} (ones) and {@code <scope>/beta} (zeros) of width {@code dim}. */
  public static LayerNorm create(ParamStore ps, Ops tf, int dim, float eps, int layerId) {
    Param g = ps.create(tf, "gamma", Shape.of(dim), Param.Kind.NORM, layerId, true, InitScheme.constant(1f));
    Param b = ps.create(tf, "beta", Shape.of(dim), Param.Kind.NORM, layerId, true, InitScheme.zeros());
    return new LayerNorm(g, b, eps);
  }

  public Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x) {
    return apply(tf, Compute.fp32(), x);
  }

  /** As {@link #apply(Ops, Operand)}, computed as {@code c} says (a fused kernel on CPU training graphs). */
  public Operand<TFloat32> apply(Ops tf, Compute c, Operand<TFloat32> x) {
    return c.layerNorm(tf, x, gamma.read(), beta.read(), eps);
  }

  /**
   * The residual step {@code out = x + scale ⊙ (h + bias)} and this LayerNorm of it, as one kernel
   * ({@link FusedResidualLayerNorm}; only where {@link Compute#fusedResidual()}); {@code scale} may be
   * null.
   */
  public FusedResidualLayerNorm.Output afterResidual(Ops tf, Operand<TFloat32> x, Operand<TFloat32> h,
      Operand<TFloat32> bias, Operand<TFloat32> scale) {
    return FusedResidualLayerNorm.apply(tf, x, h, bias, scale, gamma.read(), beta.read(), eps);
  }

  /** Parameter-free normalisation over the last axis. */
  public static Operand<TFloat32> normalize(Ops tf, Operand<TFloat32> x, float eps) {
    Operand<org.tensorflow.types.TInt32> axis = tf.constant(-1);
    Operand<TFloat32> mean = tf.math.mean(x, axis, Mean.keepDims(true));
    Operand<TFloat32> centered = tf.math.sub(x, mean);
    Operand<TFloat32> var = tf.math.mean(tf.math.square(centered), axis, Mean.keepDims(true));
    return tf.math.mul(centered, tf.math.rsqrt(tf.math.add(var, tf.constant(eps))));
  }
}
