package org.mimtf.nn;

import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.proto.DecoderConfig;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * The patch-aggregation head of BEiT v2 (§2.3), also CCViT's "pixel block": a few extra transformer
 * blocks fed with [CLS from the last block; patch tokens from block l], both pre-norm. Because the
 * patch tokens come from an early layer, the only route for late-layer information into the head's
 * predictions is the CLS token — which is what trains CLS to aggregate the image.
 *
 * <p>The blocks continue the encoder's layer numbering for BEiT's init rescale (ids l+1, l+2, ...;
 * common-vit.md §7) and use the encoder's shared relative position bias when it has one.
 */
public final class AggregationHead {
  private final List<Block> blocks;
  private final int earlyLayer;
  private final int width;

  private AggregationHead(List<Block> blocks, int earlyLayer, int width) {
    this.blocks = blocks;
    this.earlyLayer = earlyLayer;
    this.width = width;
  }

  /**
   * Creates {@code <scope>/blocks/<i>/...} blocks of the encoder's width.
   *
   * @param earlyLayer the 1-based encoder block whose patch tokens feed the head
   */
  public static AggregationHead create(ParamStore ps, Ops tf, VisionTransformer encoder, DecoderConfig d,
      int earlyLayer) {
    VitConfig c = encoder.config();
    int heads = d.getNumHeads() > 0 ? d.getNumHeads() : c.numHeads();
    int mlp = Math.round(d.getMlpRatio() * c.width());
    int total = Math.max(c.depth(), earlyLayer + d.getDepth());
    List<Block> blocks = new ArrayList<>();
    Ops bt = tf.withSubScope("blocks");
    for (int i = 0; i < d.getDepth(); i++) {
      // drop-path rates: entries early_layers.. of a linspace over max(L, l + depth) (common-vit.md §6)
      float dp = c.dropPath(earlyLayer + i, total);
      blocks.add(Block.create(ps, bt.withSubScope(Integer.toString(i)), c.width(), heads, mlp, c.qkvBias(),
          c.layerScaleInit(), dp, c.layerNormEps(), encoder.initScheme(), earlyLayer + i + 1));
    }
    return new AggregationHead(blocks, earlyLayer, c.width());
  }

  /**
   * Runs the head on an encoder pass; returns its output [B, 1 + N, D] (pre-norm).
   *
   * @param bias the encoder's shared relative bias, or null
   */
  public Operand<TFloat32> apply(Ops tf, Compute c, VisionTransformer.Output enc, Operand<TFloat32> bias,
      Operand<TInt64> dropSeed) {
    List<Operand<TFloat32>> outs = enc.blockOutputs();
    Operand<TFloat32> last = outs.get(outs.size() - 1);
    Operand<TFloat32> early = outs.get(earlyLayer - 1);
    Operand<TFloat32> cls = tf.slice(last, tf.constant(new int[] {0, 0, 0}), tf.constant(new int[] {-1, 1, -1}));
    Operand<TFloat32> x = tf.concat(List.of(cls, VisionTransformer.dropCls(tf, early)), tf.constant(1));
    int tokens = (int) early.shape().get(1);
    TokenState s = TokenState.of(tf.reshape(x, tf.constant(new int[] {-1, width})), tokens);
    for (int i = 0; i < blocks.size(); i++) {
      s = blocks.get(i).apply(tf, c, s, bias, dropSeed, null, 1000 + i).state();
    }
    return tf.reshape(s.rows(), tf.constant(new int[] {-1, tokens, width}));
  }
}
