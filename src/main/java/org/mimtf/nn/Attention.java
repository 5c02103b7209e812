package org.mimtf.nn;

import java.util.List;
import org.mimtf.config.proto.ModelConfig;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * Multi-head self-attention with a fused qkv projection (common-vit.md §5):
 * {@code softmax(q kᵀ / √d_h + bias) v}, heads concatenated, then an output projection.
 *
 * <p>The qkv bias follows the recipe: BEiT learns separate {@code q_bias} and {@code v_bias} and no
 * key bias (a constant key bias cancels in the softmax anyway); timm learns one bias over q, k, v.
 * An optional additive bias [h, T, T] (BEiT's relative position bias) and an additive key mask
 * [B, 1, 1, T] (−∞ on padding) enter before the softmax.
 */
public final class Attention {
  private final Dense qkv;
  private final Param qBias;
  private final Param vBias;
  private final Dense proj;
  private final int width;
  private final int heads;

  /** What one attention call produced, including what token reducers read. */
  /**
   * {@code out} = {@code beforeBias} + the projection's bias; a fused residual step takes the two
   * apart (an unused {@code out} is pruned from the run).
   */
  public record Output(Operand<TFloat32> out, Operand<TFloat32> keys, Operand<TFloat32> probs,
      Operand<TFloat32> beforeBias) {}

  private Attention(Dense qkv, Param qBias, Param vBias, Dense proj, int width, int heads) {
    this.qkv = qkv;
    this.qBias = qBias;
    this.vBias = vBias;
    this.proj = proj;
    this.width = width;
    this.heads = heads;
  }

  /**
   * Creates {@code <scope>/qkv/kernel} [D, 3D] (+ {@code q_bias}, {@code v_bias} or {@code qkv/bias})
   * and {@code <scope>/proj/{kernel,bias}}; {@code projScale} divides the output projection's init.
   */
  public static Attention create(ParamStore ps, Ops tf, int width, int heads, ModelConfig.QkvBias bias,
      InitScheme init, float projScale, int layerId) {
    Dense qkv = Dense.create(ps, tf.withSubScope("qkv"), width, 3 * width, bias == ModelConfig.QkvBias.QKV_BIAS,
        init.kernel(width, 3L * width, 1f), layerId);
    Param q = null;
    Param v = null;
    if (bias == ModelConfig.QkvBias.QV_BIAS) {
      q = ps.create(tf, "q_bias", Shape.of(width), Param.Kind.BIAS, layerId, true, InitScheme.zeros());
      v = ps.create(tf, "v_bias", Shape.of(width), Param.Kind.BIAS, layerId, true, InitScheme.zeros());
    }
    Dense proj = Dense.create(ps, tf.withSubScope("proj"), width, width, true, init.kernel(width, width, projScale),
        layerId);
    return new Attention(qkv, q, v, proj, width, heads);
  }

  /**
   * Attention over {@code x} [B·T, D] (tokens flattened to rows) with {@code tokens} = T tokens per
   * example. Returns the projected output [B·T, D], the keys [B, h, T, d_h] and the probabilities
   * [B, h, T, T].
   *
   * @param bias additive logits bias broadcastable to [B, h, T, T], or null
   */
  public Output apply(Ops tf, Compute c, Operand<TFloat32> x, int tokens, Operand<TFloat32> bias) {
    int dh = width / heads;
    Operand<TFloat32> y = qkv.apply(tf, c, x);
    if (qBias != null) {
      Operand<TFloat32> b = tf.concat(List.of(qBias.read(), tf.zerosLike(qBias.read()), vBias.read()), tf.constant(0));
      y = tf.nn.biasAdd(y, b);
    }
    // [B, T, 3, h, dh] -> [3, B, h, T, dh]
    Operand<TFloat32> t = tf.linalg.transpose(tf.reshape(y, tf.constant(new int[] {-1, tokens, 3, heads, dh})),
        tf.constant(new int[] {2, 0, 3, 1, 4}));
    // one Unpack (its gradient one Pack) rather than a Gather per part, whose gradients are an
    // UnsortedSegmentSum each over the whole [3, B, h, T, dh] tensor, added up
    List<org.tensorflow.Output<TFloat32>> qkv3 = tf.unstack(t, 3L).output();
    Operand<TFloat32> q = tf.math.mul(qkv3.get(0), tf.constant((float) (1.0 / Math.sqrt(dh))));
    Operand<TFloat32> k = qkv3.get(1);
    Operand<TFloat32> v = qkv3.get(2);
    Operand<TFloat32> logits = c.batchMatMul(tf, q, k, false, true);
    if (bias != null) {
      logits = tf.math.add(logits, bias);
    }
    Operand<TFloat32> probs = tf.nn.softmax(logits);
    Operand<TFloat32> o = c.batchMatMul(tf, probs, v, false, false);
    // [B, h, T, dh] -> [B, T, h, dh] -> [B·T, D]
    Operand<TFloat32> merged = tf.reshape(tf.linalg.transpose(o, tf.constant(new int[] {0, 2, 1, 3})),
        tf.constant(new int[] {-1, width}));
    Operand<TFloat32> beforeBias = c.matMul(tf, merged, proj.kernel().read());
    return new Output(tf.nn.biasAdd(beforeBias, proj.bias().read()), k, probs, beforeBias);
  }

  public Dense qkv() {
    return qkv;
  }

  public Dense proj() {
    return proj;
  }
}
