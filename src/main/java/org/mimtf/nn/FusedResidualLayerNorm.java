package org.mimtf.nn;

import java.util.List;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The pre-norm block's residual step and the LayerNorm that reads it, as one native kernel
 * ({@code MimtfResidualLayerNorm}, src/main/c/mimtf_ops.c):
 * {@code out = x + s ⊙ (h + b)}, {@code y = LN(out)·γ + β}, where h is the branch's last matrix
 * product before its bias b and s the layer scale (ones without it).
 *
 * <p>Why: written as ops this is a BiasAdd, a Mul and an Add forward, and backward a BiasAddGrad, two
 * Muls and a Sum for s, and an AddN where the residual stream's two gradients meet, besides the
 * LayerNorm's own; after the LayerNorm and GELU kernels they were the largest element-wise share of the
 * step (README, Native kernels). The gradient kernel, {@code MimtfResidualLayerNormGrad}, takes both
 * incoming gradients (of out and y) and returns dx, dh and the four column sums in one pass:
 * with t = dout + LN'(dy), {@code dx = t}, {@code dh = s ⊙ t}, {@code db = Σ s ⊙ t},
 * {@code ds = Σ (h + b) ⊙ t}, {@code dγ = Σ dy·x̂}, {@code dβ = Σ dy}.
 *
 * <p>CPU training graphs only ({@link Compute#fusedResidual()}); exports keep TF's ops.
 */
public final class FusedResidualLayerNorm {
  static final String OP = "MimtfResidualLayerNorm";
  static final String GRAD_OP = "MimtfResidualLayerNormGrad";

  /** The residual stream after the step, and its normalisation. */
  public record Output(Operand<TFloat32> out, Operand<TFloat32> normed) {}

  private FusedResidualLayerNorm() {}

  /**
   * {@code out = x + scale ⊙ (h + bias)} and {@code LN(out)·gamma + beta}, all rows [N, D] and
   * vectors [D]; {@code scale} may be null (no layer scale).
   */
  public static Output apply(Ops tf, Operand<TFloat32> x, Operand<TFloat32> h, Operand<TFloat32> bias,
      Operand<TFloat32> scale, Operand<TFloat32> gamma, Operand<TFloat32> beta, float eps) {
    if (x.shape().numDimensions() != 2) {
      throw new IllegalArgumentException("fused residual LayerNorm takes [rows, width], got " + x.shape());
    }
    if (!NativeOps.available()) {
      throw new IllegalStateException("mimtf's native kernels are not available: " + NativeOps.unavailableReason());
    }
    NativeOps.registerGradient(OP, GRAD_OP, 2,
        op -> List.of(op.input(1), op.input(2), op.input(3), op.input(4), op.output(0), op.output(2), op.output(3)), 6);
    Operand<TFloat32> s = scale;
    if (s == null) { // a constant (OnesLike of the bias would sit on the gradient's path, and has no gradient)
      float[] ones = new float[(int) bias.shape().get(0)];
      java.util.Arrays.fill(ones, 1f);
      s = tf.constant(ones);
    }
    GraphOperation op = (GraphOperation) tf.scope().opBuilder(OP, "ResidualLayerNorm")
        .addInput(x.asOutput()).addInput(h.asOutput()).addInput(bias.asOutput()).addInput(s.asOutput())
        .addInput(gamma.asOutput()).addInput(beta.asOutput()).setAttr("epsilon", eps).build();
    return new Output(op.<TFloat32>output(0), op.<TFloat32>output(1));
  }
}
