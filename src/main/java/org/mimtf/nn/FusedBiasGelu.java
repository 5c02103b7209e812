package org.mimtf.nn;

import java.util.List;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The MLP's bias and exact GELU as one kernel, {@code GELU(x + b)} on 2-D rows, with a one-pass
 * gradient: with z = x + b, {@code dz = dy·(Φ(z) + z·φ(z))}, {@code dx = dz}, {@code db = Σ_rows dz}
 * (mimtf's {@code MimtfBiasGelu} / {@code MimtfBiasGeluGrad}, {@link NativeOps}).
 *
 * <p>Why: written as ops, the erf GELU is five element-wise kernels forward and about ten backward,
 * each a pass over the [B·T, 4·D] hidden activations, the widest tensor of a block, plus the bias
 * gradient's own pass (the step profile's GELU and BiasAddGrad shares). The forward product then runs
 * as a plain MatMul (its bias moves into this kernel), the backward reads dy and x once. Values equal
 * {@link Mlp#gelu} of the BiasAdd up to libmvec's erf/exp rounding (FusedBiasGeluTest). CPU training
 * graphs only ({@link Compute#withFusedBiasGelu}); exports keep the composite ops.
 */
public final class FusedBiasGelu {
  static final String OP = "MimtfBiasGelu";
  static final String GRAD_OP = "MimtfBiasGeluGrad";

  private FusedBiasGelu() {}

  /** Whether the kernel is here (mimtf's native library loaded). */
  public static boolean available() {
    return NativeOps.available();
  }

  /** {@code GELU(x + b)} for {@code x} [N, H], {@code b} [H]. */
  public static Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x, Operand<TFloat32> bias) {
    if (x.shape().numDimensions() != 2) {
      throw new IllegalArgumentException("fused bias + GELU takes [rows, width], got " + x.shape());
    }
    if (!available()) {
      throw new IllegalStateException("mimtf's native kernels are not available: " + NativeOps.unavailableReason());
    }
    registerGradient();
    GraphOperation op = (GraphOperation) tf.scope().opBuilder(OP, "BiasGelu").addInput(x.asOutput())
        .addInput(bias.asOutput()).build();
    return op.<TFloat32>output(0);
  }

  static void registerGradient() {
    NativeOps.registerGradient(OP, GRAD_OP, op -> List.of(op.input(0), op.input(1)), 2);
  }
}
