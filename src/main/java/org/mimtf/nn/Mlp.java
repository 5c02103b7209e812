package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/** The transformer MLP: {@code fc2(GELU(fc1(x)))} with the exact (erf) GELU of PyTorch's nn.GELU. */
public final class Mlp {
  private final Dense fc1;
  private final Dense fc2;

  private Mlp(Dense fc1, Dense fc2) {
    this.fc1 = fc1;
    this.fc2 = fc2;
  }

  public static Mlp create(ParamStore ps, Ops tf, int width, int hidden, InitScheme init, float fc2Scale, int layerId) {
    Dense a = Dense.create(ps, tf.withSubScope("fc1"), width, hidden, true, init.kernel(width, hidden, 1f), layerId);
    Dense b = Dense.create(ps, tf.withSubScope("fc2"), hidden, width, true, init.kernel(hidden, width, fc2Scale),
        layerId);
    return new Mlp(a, b);
  }

  public Operand<TFloat32> apply(Ops tf, Compute c, Operand<TFloat32> x) {
    return fc2.apply(tf, c, hidden(tf, c, x));
  }

  /** fc2's product before its bias ({@link #outputBias()}), for a fused residual step. */
  public Operand<TFloat32> applyBeforeBias(Ops tf, Compute c, Operand<TFloat32> x) {
    return c.matMul(tf, hidden(tf, c, x), fc2.kernel().read());
  }

  /** fc2's bias, or null. */
  public Param outputBias() {
    return fc2.bias();
  }

  private Operand<TFloat32> hidden(Ops tf, Compute c, Operand<TFloat32> x) {
    if (c.fusedBiasGelu() && fc1.bias() != null && x.shape().numDimensions() == 2) {
      return FusedBiasGelu.apply(tf, c.matMul(tf, x, fc1.kernel().read()), fc1.bias().read());
    }
    return gelu(tf, fc1.apply(tf, c, x));
  }

  /** GELU(x) = x · Φ(x) = ½ x (1 + erf(x / √2)), exact (not the tanh approximation). */
  public static Operand<TFloat32> gelu(Ops tf, Operand<TFloat32> x) {
    Operand<TFloat32> phi = tf.math.add(tf.constant(0.5f),
        tf.math.mul(tf.constant(0.5f), tf.math.erf(tf.math.mul(x, tf.constant((float) (1 / Math.sqrt(2)))))));
    return tf.math.mul(x, phi);
  }
}
