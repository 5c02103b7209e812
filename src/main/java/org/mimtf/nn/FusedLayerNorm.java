package org.mimtf.nn;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.TensorFlow;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * LayerNorm over the rows of a 2-D operand as one oneDNN kernel ({@code _MklLayerNorm}, which TF's
 * grappler otherwise only substitutes in inference graphs), with a closed-form gradient registered
 * for it: with x̂ = (x − μ)·r, r = 1/√(σ² + ε) and g = dy·γ,
 * {@code dx = r·(g − mean(g) − x̂·mean(g·x̂))}, {@code dγ = Σ dy·x̂}, {@code dβ = Σ dy}.
 *
 * <p>Why: written as ops, LayerNorm is nine element-wise kernels forward and about twenty backward
 * (the step profile's "LayerNorm, residuals" share); the fused forward is one pass and the
 * closed-form backward about ten. The values are those of {@link LayerNorm#normalize} up to fp32
 * reassociation (FusedLayerNormTest). The op exists only in oneDNN CPU builds and is an internal
 * type, so it is used in training graphs on CPU only ({@link Compute#withFusedLayerNorm}); exported
 * SavedModels keep the portable composite.
 */
public final class FusedLayerNorm {
  static final String OP = "_MklLayerNorm";
  private static final AtomicBoolean REGISTERED = new AtomicBoolean();

  private FusedLayerNorm() {}

  /**
   * Whether this TensorFlow build has the op (oneDNN CPU builds) and oneDNN is not switched off
   * ({@code TF_ENABLE_ONEDNN_OPTS=0} leaves the op registered but not its kernel).
   */
  public static boolean available() {
    if ("0".equals(System.getenv("TF_ENABLE_ONEDNN_OPTS"))) {
      return false;
    }
    return AVAILABLE.get();
  }

  private static final com.google.common.base.Supplier<Boolean> AVAILABLE = com.google.common.base.Suppliers.memoize(
      () -> TensorFlow.registeredOpList().getOpList().stream().anyMatch(o -> o.getName().equals(OP)));

  /** {@code (x − μ)/√(σ² + ε)·γ + β} over the last axis of 2-D {@code x} [N, D]. */
  @SuppressWarnings("unchecked")
  public static Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x, Operand<TFloat32> gamma, Operand<TFloat32> beta,
      float eps) {
    if (x.shape().numDimensions() != 2) {
      throw new IllegalArgumentException("fused LayerNorm takes [rows, width], got " + x.shape());
    }
    registerGradient();
    GraphOperation op = (GraphOperation) tf.scope().opBuilder(OP, "LayerNorm").addInput(x.asOutput())
        .addInput(gamma.asOutput()).addInput(beta.asOutput()).setAttr("epsilon", eps).build();
    return op.<TFloat32>output(0);
  }

  /** Registers the closed-form gradient once per process (before any {@code tf.gradients}). */
  @SuppressWarnings("unchecked")
  static void registerGradient() {
    if (REGISTERED.getAndSet(true)) {
      return;
    }
    boolean ours = TensorFlow.registerCustomGradient(OP, (tf, op, dys) -> {
      Operand<TFloat32> x = (Operand<TFloat32>) op.input(0);
      Operand<TFloat32> gamma = (Operand<TFloat32>) op.input(1);
      Operand<TFloat32> dy = (Operand<TFloat32>) dys.get(0);
      float eps = op.attributes().getAttrFloat("epsilon");
      Operand<TInt32> last = tf.constant(-1);
      Operand<TInt32> rows = tf.constant(0);
      Operand<TFloat32> centered = tf.math.sub(x, tf.math.mean(x, last, Mean.keepDims(true)));
      Operand<TFloat32> r = tf.math.rsqrt(tf.math.add(
          tf.math.mean(tf.math.square(centered), last, Mean.keepDims(true)), tf.constant(eps)));
      Operand<TFloat32> xhat = tf.math.mul(centered, r);
      Operand<TFloat32> g = tf.math.mul(dy, gamma);
      Operand<TFloat32> dx = tf.math.mul(r, tf.math.sub(tf.math.sub(g, tf.math.mean(g, last, Mean.keepDims(true))),
          tf.math.mul(xhat, tf.math.mean(tf.math.mul(g, xhat), last, Mean.keepDims(true)))));
      Operand<TFloat32> dGamma = tf.sum(tf.math.mul(dy, xhat), rows, Sum.keepDims(false));
      Operand<TFloat32> dBeta = tf.sum(dy, rows, Sum.keepDims(false));
      return List.of(dx, dGamma, dBeta);
    });
    if (!ours) {
      throw new IllegalStateException(OP + " already has a gradient in this TensorFlow build; the closed form "
          + "registered here was not installed");
    }
  }
}
