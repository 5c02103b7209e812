package org.mimtf.finetune;

import org.mimtf.config.proto.FinetuneConfig;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Dense;
import org.mimtf.nn.LayerNorm;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * The fine-tuning classifier of BEiT's {@code modeling_finetune.VisionTransformer}
 * (common-vit.md §13): the shared {@link VisionTransformer} under {@code encoder/}, then either
 * <ul>
 *   <li>{@code MEAN_POOLING} ({@code use_mean_pooling}): the mean of the last block's patch tokens
 *       through a fresh LayerNorm {@code fc_norm/}; the encoder's final norm is not used (BEiT makes
 *       it an identity), so it is kept frozen here, or
 *   <li>{@code CLS_TOKEN}: the final-norm CLS token,
 * </ul>
 * and a linear head {@code head/} initialised with a tiny truncated normal (BEiT: std 0.02 times
 * {@code init_scale} 0.001) and zero bias. Layer ids for layer-wise lr decay: embeddings 0, block k
 * k+1, {@code fc_norm} and {@code head} L+1 (BEiT's {@code get_num_layer_for_vit}).
 */
public final class Classifier {
  private final VisionTransformer vit;
  private final LayerNorm fcNorm;
  private final Dense head;
  private final FinetuneConfig.Pool pool;
  private final int classes;

  private Classifier(VisionTransformer vit, LayerNorm fcNorm, Dense head, FinetuneConfig.Pool pool, int classes) {
    this.vit = vit;
    this.fcNorm = fcNorm;
    this.head = head;
    this.pool = pool;
    this.classes = classes;
  }

  /**
   * Creates {@code encoder/...}, {@code fc_norm/...} (mean pooling) and {@code head/...}; {@code tf} is
   * the graph's root scope (the variable names are the checkpoint and export keys).
   */
  public static Classifier create(ParamStore ps, Ops tf, VitConfig cfg, int classes, FinetuneConfig.Pool pool,
      float headInitStd) {
    if (pool == FinetuneConfig.Pool.MEAN_POOLING) {
      // BEiT's norm = Identity with mean pooling: our final norm exists (exports keep their layout) but
      // nothing reads it, so it must not be differentiated
      ps.freeze("encoder/norm/");
    }
    VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), cfg, false);
    int layer = cfg.depth() + 1;
    LayerNorm fc = pool == FinetuneConfig.Pool.MEAN_POOLING
        ? LayerNorm.create(ps, tf.withSubScope("fc_norm"), cfg.width(), cfg.layerNormEps(), layer)
        : null;
    Dense head = Dense.create(ps, tf.withSubScope("head"), cfg.width(), classes, true,
        (t, name, shape) -> ps.init().truncatedNormal(t, name, shape, headInitStd, 2.0), layer);
    return new Classifier(vit, fc, head, pool, classes);
  }

  /**
   * Logits [B, classes] of images [B, H, W, C] in [0, 1].
   *
   * @param dropSeed the step's seed in training (drop path), null at inference
   */
  public Operand<TFloat32> logits(Ops tf, Compute c, Operand<TFloat32> images, Operand<TInt64> dropSeed) {
    VisionTransformer.Output out = vit.forward(tf, c, images, VisionTransformer.Inputs.none().dropSeed(dropSeed));
    return head.apply(tf, c, feature(tf, out));
  }

  private Operand<TFloat32> feature(Ops tf, VisionTransformer.Output out) {
    if (pool == FinetuneConfig.Pool.CLS_TOKEN) {
      return out.cls(tf);
    }
    Operand<TFloat32> last = out.blockOutputs().get(out.blockOutputs().size() - 1);
    Operand<TFloat32> mean = tf.math.mean(VisionTransformer.dropCls(tf, last), tf.constant(1), Mean.keepDims(false));
    return fcNorm.apply(tf, mean);
  }

  public int classes() {
    return classes;
  }

  public VisionTransformer encoder() {
    return vit;
  }
}
