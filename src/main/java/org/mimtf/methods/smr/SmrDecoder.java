package org.mimtf.methods.smr;

import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.proto.DecoderConfig;
import org.mimtf.config.proto.SmrConfig;
import org.mimtf.nn.Block;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Dense;
import org.mimtf.nn.InitScheme;
import org.mimtf.nn.LayerNorm;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.Positions;
import org.mimtf.nn.TokenState;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.nn.reduce.Slots;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * SMR's light decoder (smr.md §6; MAE's layout): the encoder's final-norm output (survivors only) is
 * projected to the decoder width, put back on the patch grid by slot — CLS at 0, every empty slot
 * filled with the shared learned <b>dummy token</b> (Fig. 1) — plus a fixed 2-D sin-cos table, then
 * {@code depth} transformer blocks, a LayerNorm and a linear head predict the target of every patch
 * position: [B, N, C_t].
 *
 * <p>Variables: {@code decoder/embed/{kernel,bias}}, {@code decoder/dummy_token} [1, 1, D_dec]
 * (N(0, 0.02) as MAE's mask token), {@code decoder/blocks/i/...}, {@code decoder/norm},
 * {@code decoder/head}.
 */
final class SmrDecoder {
  private final Dense embed;
  private final Param dummy;
  private final List<Block> blocks;
  private final LayerNorm norm;
  private final Dense head;
  private final int width;
  private final int patches;
  private final float[] positions;

  private SmrDecoder(Dense embed, Param dummy, List<Block> blocks, LayerNorm norm, Dense head, int width, int patches,
      float[] positions) {
    this.embed = embed;
    this.dummy = dummy;
    this.blocks = blocks;
    this.norm = norm;
    this.head = head;
    this.width = width;
    this.patches = patches;
    this.positions = positions;
  }

  static SmrDecoder create(ParamStore ps, Ops tf, VitConfig vit, DecoderConfig d, int outDim, InitScheme init) {
    int w = d.getWidth() > 0 ? d.getWidth() : vit.width();
    int heads = d.getNumHeads() > 0 ? d.getNumHeads() : vit.numHeads();
    int mlp = Math.round(d.getMlpRatio() * w);
    int layer = vit.depth() + 1;
    Dense embed = Dense.create(ps, tf.withSubScope("embed"), vit.width(), w, true, init.kernel(vit.width(), w, 1f),
        layer);
    Param dummy = ps.create(tf, "dummy_token", Shape.of(1, 1, w), Param.Kind.MASK_TOKEN, layer, true, init.token());
    List<Block> blocks = new ArrayList<>();
    Ops bt = tf.withSubScope("blocks");
    for (int i = 0; i < d.getDepth(); i++) {
      blocks.add(Block.create(ps, bt.withSubScope(Integer.toString(i)), w, heads, mlp, vit.qkvBias(), 0f, 0f,
          vit.layerNormEps(), init, layer));
    }
    LayerNorm norm = LayerNorm.create(ps, tf.withSubScope("norm"), w, vit.layerNormEps(), layer);
    Dense head = Dense.create(ps, tf.withSubScope("head"), w, outDim, true, init.kernel(w, outDim, 1f), layer);
    int g = vit.imageSize() / vit.patchSize();
    return new SmrDecoder(embed, dummy, blocks, norm, head, w, g * g, Positions.sinCos2d(g, g, w, true));
  }

  /**
   * Predicts every patch position's target from the encoder's output.
   *
   * @param normed the encoder's final-norm tokens [B, T, D], CLS first
   * @param state the encoder's final token state (slots, owners)
   */
  Operand<TFloat32> apply(Ops tf, Compute c, Operand<TFloat32> normed, TokenState state, SmrConfig.DecoderFill fill) {
    int t = state.tokens();
    int n = patches;
    Operand<TFloat32> y = tf.reshape(embed.apply(tf, c, tf.reshape(normed, tf.constant(new int[] {-1,
        (int) normed.shape().get(2)}))), tf.constant(new int[] {-1, t, width}));
    Operand<TFloat32> canvas;
    Operand<TFloat32> occupied;
    if (fill == SmrConfig.DecoderFill.UNMERGE) {
      Operand<TFloat32>[] u = Slots.unmerge(tf, y, state.owner());
      Operand<TFloat32> cls = tf.slice(y, tf.constant(new int[] {0, 0, 0}), tf.constant(new int[] {-1, 1, -1}));
      canvas = tf.concat(List.of(cls, u[0]), tf.constant(1));
      occupied = tf.concat(List.of(tf.fill(tf.shape(tf.slice(u[1], tf.constant(new int[] {0, 0, 0}),
          tf.constant(new int[] {-1, 1, -1}))), tf.constant(1f)), u[1]), tf.constant(1));
    } else {
      Operand<TFloat32>[] s = Slots.scatter(tf, y, state.slots(), n);
      canvas = s[0];
      occupied = s[1];
    }
    // empty cells get the dummy token
    Operand<TFloat32> x = tf.math.add(canvas, tf.math.mul(tf.math.sub(tf.constant(1f), occupied), dummy.read()));
    x = tf.math.add(x, tf.reshape(tf.constant(positions), tf.constant(new int[] {1, n + 1, width})));
    TokenState st = TokenState.of(tf.reshape(x, tf.constant(new int[] {-1, width})), n + 1);
    for (int i = 0; i < blocks.size(); i++) {
      st = blocks.get(i).apply(tf, c, st, null, null, null, 2000 + i).state();
    }
    Operand<TFloat32> out = head.apply(tf, c, norm.apply(tf, st.rows()));
    long od = out.shape().get(1);
    return VisionTransformer.dropCls(tf, tf.reshape(out, tf.constant(new long[] {-1, n + 1, od})));
  }
}
