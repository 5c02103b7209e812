package org.mimtf.nn;

import org.mimtf.config.proto.ModelConfig;
import org.tensorflow.types.TFloat32;

/**
 * Initialisation schemes of the three code bases mimtf follows (common-vit.md §7), named rather than
 * hidden in layers: BEiT (truncated normal 0.02 cut at ±1σ, output projections rescaled by
 * 1/√(2·layer)), timm (normal 0.02, same rescale) and MAE (Xavier-uniform linears, no rescale).
 */
public final class InitScheme {
  private final ModelConfig.Init kind;
  private final Initializers random;

  public InitScheme(ModelConfig.Init kind, long seed) {
    this.kind = kind;
    this.random = new Initializers(seed);
  }

  public ModelConfig.Init kind() {
    return kind;
  }

  /** A linear kernel [fanIn, fanOut], divided by {@code scale}. */
  public ParamStore.InitFn kernel(long fanIn, long fanOut, float scale) {
    return (tf, name, shape) -> {
      var v = switch (kind) {
        case BEIT -> random.truncatedNormal(tf, name, shape, 0.02f, 1.0);
        case TIMM -> random.normal(tf, name, shape, 0.02f);
        case MAE -> random.xavierUniform(tf, name, shape, fanIn, fanOut);

      };
      return scale == 1f ? v : tf.math.div(v, tf.constant(scale));
    };
  }

  /** The patch-embedding kernel: BEiT re-initialises it like a linear; timm/MAE use Xavier on (D, C·P²). */
  public ParamStore.InitFn patchKernel(long fanIn, long fanOut) {
    return kind == ModelConfig.Init.BEIT
        ? kernel(fanIn, fanOut, 1f)
        : (tf, name, shape) -> random.xavierUniform(tf, name, shape, fanIn, fanOut);
  }

  /** CLS, mask and dummy tokens: truncated normal (BEiT) or normal (MAE, timm), std 0.02. */
  public ParamStore.InitFn token() {
    return (tf, name, shape) -> kind == ModelConfig.Init.BEIT
        ? random.truncatedNormal(tf, name, shape, 0.02f, 1.0)
        : random.normal(tf, name, shape, 0.02f);
  }

  /** Learned absolute position embedding: truncated normal 0.02 (VQ-KD's ViTs). */
  public ParamStore.InitFn positionTable() {
    return (tf, name, shape) -> random.truncatedNormal(tf, name, shape, 0.02f, 2.0);
  }

  /** Whether output projections of block l are divided by √(2l). */
  public boolean rescalesOutputs() {
    return kind != ModelConfig.Init.MAE;
  }

  public static ParamStore.InitFn zeros() {
    return (tf, name, shape) -> tf.fill(tf.constant(shape.asArray()), tf.constant(0f));
  }

  public static ParamStore.InitFn constant(float value) {
    return (tf, name, shape) -> tf.fill(tf.constant(shape.asArray()), tf.constant(value));
  }
}
