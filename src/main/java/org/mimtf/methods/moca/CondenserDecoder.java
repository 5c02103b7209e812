package org.mimtf.methods.moca;

import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.nn.Block;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Dense;
import org.mimtf.nn.InitScheme;
import org.mimtf.nn.LayerNorm;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.Positions;
import org.mimtf.nn.TokenState;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * MOCA's condenser decoder (paper §3.3, App. B Eq. 7; moca.md §5.4; the code's {@code *_cls_pt}
 * modules). Its input is the student's intermediate (block ℓ, raw) visible patch tokens, normalised by
 * their own LayerNorm, with the last layer's [AVG] token in front; both are projected to the decoder
 * width, the partially decoded masked positions get a learned mask token, every patch slot gets the
 * fixed sin-cos row of its grid position (the [AVG] slot gets the zero row), and a few timm blocks and a
 * LayerNorm follow. Because the patch tokens come from an intermediate layer, late information reaches
 * the per-token predictions only through [AVG] — what makes [AVG] condense the image.
 *
 * <p>Partial decoding: only {@code dec = keep + P} slots are decoded, the visible ones and P masked
 * ones, in the order the masking gave them; nothing needs un-shuffling because positions come only
 * from the gathered table.
 */
final class CondenserDecoder {
  private final LayerNorm normIn;
  private final Dense embed;
  private final Param maskToken;
  private final List<Block> blocks;
  private final LayerNorm norm;
  private final float[] table;
  private final int n;
  private final int width;

  private CondenserDecoder(LayerNorm normIn, Dense embed, Param maskToken, List<Block> blocks, LayerNorm norm,
      float[] table, int n, int width) {
    this.normIn = normIn;
    this.embed = embed;
    this.maskToken = maskToken;
    this.blocks = blocks;
    this.norm = norm;
    this.table = table;
    this.n = n;
    this.width = width;
  }

  /**
   * Creates {@code <scope>/norm_in}, {@code embed}, {@code mask_token}, {@code blocks/<i>} and
   * {@code norm}: from encoder width {@code in} to decoder width {@code width}.
   */
  static CondenserDecoder create(ParamStore ps, Ops tf, int in, int width, int depth, int heads, int mlp, int grid,
      float eps, InitScheme init, int firstLayerId) {
    LayerNorm ni = LayerNorm.create(ps, tf.withSubScope("norm_in"), in, eps, firstLayerId);
    Dense e = Dense.create(ps, tf.withSubScope("embed"), in, width, true, init.kernel(in, width, 1f), firstLayerId);
    Param mt = ps.create(tf, "mask_token", Shape.of(1, 1, width), Param.Kind.MASK_TOKEN, firstLayerId, true,
        init.token());
    List<Block> bs = new ArrayList<>();
    Ops bt = tf.withSubScope("blocks");
    for (int i = 0; i < depth; i++) {
      bs.add(Block.create(ps, bt.withSubScope(Integer.toString(i)), width, heads, mlp, ModelConfig.QkvBias.QKV_BIAS, 0f,
          0f, eps, init, firstLayerId + i));
    }
    LayerNorm nm = LayerNorm.create(ps, tf.withSubScope("norm"), width, eps, firstLayerId + depth);
    return new CondenserDecoder(ni, e, mt, bs, nm, Positions.sinCos2d(grid, grid, width, true), grid * grid, width);
  }

  /**
   * Decodes one masking round.
   *
   * @param avg the final-norm [AVG] token [M, D]
   * @param intermediate block ℓ's raw output [M, 1 + keep, D] (CLS first; it is dropped)
   * @param decoded the decoded positions {@code order[:, 0:dec]} [M, dec]: the {@code keep} visible ones
   *     first, in the encoder's order, then the predicted masked ones
   * @return the decoder's output for the decoded slots, [M, dec, width], in the order of {@code decoded}
   */
  Operand<TFloat32> apply(Ops tf, Compute c, Operand<TFloat32> avg, Operand<TFloat32> intermediate,
      Operand<TInt32> decoded) {
    long in = avg.shape().get(1);
    int keep = (int) intermediate.shape().get(1) - 1;
    int dec = (int) decoded.shape().get(1);
    Operand<TFloat32> patches = org.mimtf.nn.VisionTransformer.dropCls(tf, intermediate);
    Operand<TFloat32> normed = normIn.apply(tf, tf.reshape(patches, tf.constant(new long[] {-1, in})));
    Operand<TFloat32> rows = tf.concat(List.of(tf.reshape(avg, tf.constant(new long[] {-1, 1, in})),
        tf.reshape(normed, tf.constant(new long[] {-1, keep, in}))), tf.constant(1));
    Operand<TFloat32> e = tf.reshape(embed.apply(tf, c, tf.reshape(rows, tf.constant(new long[] {-1, in}))),
        tf.constant(new long[] {-1, keep + 1, width}));
    Operand<TFloat32> avgSlot = tf.slice(e, tf.constant(new int[] {0, 0, 0}), tf.constant(new int[] {-1, 1, -1}));
    Operand<TFloat32> visible = tf.slice(e, tf.constant(new int[] {0, 1, 0}), tf.constant(new int[] {-1, -1, -1}));
    Operand<TInt32> m = tf.slice(tf.shape(e), tf.constant(new int[] {0}), tf.constant(new int[] {1}));
    Operand<TFloat32> masks = tf.broadcastTo(maskToken.read(),
        tf.concat(List.of(m, tf.constant(new int[] {dec - keep, width})), tf.constant(0)));
    Operand<TFloat32> slots = tf.concat(List.of(visible, masks), tf.constant(1));
    Operand<TFloat32> patchTable = tf.reshape(tf.slice(tf.constant(table), tf.constant(new int[] {width}),
        tf.constant(new int[] {n * width})), tf.constant(new long[] {n, width}));
    Operand<TFloat32> pos = tf.gather(patchTable, decoded, tf.constant(0));
    slots = tf.math.add(slots, pos);
    Operand<TFloat32> x = tf.concat(List.of(avgSlot, slots), tf.constant(1));
    TokenState s = TokenState.of(tf.reshape(x, tf.constant(new long[] {-1, width})), dec + 1);
    for (int i = 0; i < blocks.size(); i++) {
      s = blocks.get(i).apply(tf, c, s, null, null, null, 2000 + i).state();
    }
    Operand<TFloat32> out = tf.reshape(norm.apply(tf, s.rows()), tf.constant(new long[] {-1, dec + 1, width}));
    return org.mimtf.nn.VisionTransformer.dropCls(tf, out);
  }
}
