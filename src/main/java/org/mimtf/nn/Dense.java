package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/** A linear layer {@code y = x W + b} on 2-D inputs [M, in] (tokens are flattened into rows). */
public final class Dense {
  private final Param kernel;
  private final Param bias;

  private Dense(Param kernel, Param bias) {
    this.kernel = kernel;
    this.bias = bias;
  }

  /**
   * Creates {@code <scope>/kernel} [in, out] and, if {@code useBias}, {@code <scope>/bias} [out]
   * (zeros).
   */
  public static Dense create(ParamStore ps, Ops tf, int in, int out, boolean useBias, ParamStore.InitFn kernelInit,
      int layerId) {
    Param k = ps.create(tf, "kernel", Shape.of(in, out), Param.Kind.KERNEL, layerId, true, kernelInit);
    Param b = useBias ? ps.create(tf, "bias", Shape.of(out), Param.Kind.BIAS, layerId, true, InitScheme.zeros()) : null;
    return new Dense(k, b);
  }

  public Operand<TFloat32> apply(Ops tf, Compute c, Operand<TFloat32> x) {
    Operand<TFloat32> y = c.matMul(tf, x, kernel.read());
    return bias == null ? y : tf.nn.biasAdd(y, bias.read());
  }

  public Param kernel() {
    return kernel;
  }

  public Param bias() {
    return bias;
  }
}
