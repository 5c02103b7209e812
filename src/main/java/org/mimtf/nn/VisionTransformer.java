package org.mimtf.nn;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.proto.ModelConfig;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gather;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * The one Vision Transformer of mimtf (Dosovitskiy et al. 2021, with the options of BEiT, MAE and
 * timm; common-vit.md), built as a static graph.
 *
 * <p>One entry point serves the three kinds of encoder the five methods need:
 * <ul>
 *   <li>full input with mask-token replacement ({@link Inputs#mask}) — BEiT v2, CCViT, ConMIM;
 *   <li>visible tokens only, gathered per sample by keep indices ({@link Inputs#keep}) — MOCA;
 *   <li>a token reducer that shrinks the sequence inside given blocks ({@link Inputs#reducer}) — SMR.
 * </ul>
 * {@link Output} holds every block's output, so heads can read block l and block L.
 *
 * <p>Variable names mirror timm's module tree under the caller's scope, e.g.
 * {@code encoder/patch_embed/proj/kernel}, {@code encoder/blocks/3/attn/qkv/kernel},
 * {@code encoder/norm/gamma} (README: mapping to timm/BEiT parameter names).
 */
public final class VisionTransformer {
  private final VitConfig cfg;
  private final Dense patchEmbed;
  private final Param clsToken;
  private final Param maskToken;
  private final Param posTable;
  private final RelativePositionBias sharedRelBias;
  private final List<RelativePositionBias> blockRelBias;
  private final List<Block> blocks;
  private final LayerNorm norm;
  private final InitScheme init;

  /** What a forward pass consumes besides the images; all optional. */
  public static final class Inputs {
    Operand<TBool> mask;
    Operand<TInt32> keep;
    TokenReducer reducer;
    Operand<TInt64> dropSeed;
    int stopAfterBlock = -1;

    public static Inputs none() {
      return new Inputs();
    }

    /** Replace the patch embedding by the mask token where {@code mask} [B, N] is true. */
    public Inputs mask(Operand<TBool> m) {
      this.mask = m;
      return this;
    }

    /** Encode only the patches at {@code keep} [B, K] (after position embedding), in that order. */
    public Inputs keep(Operand<TInt32> k) {
      this.keep = k;
      return this;
    }

    /**
     * Reduce tokens inside the blocks the reducer applies to (SMR); the output's {@link Output#state()}
     * then carries sizes, slots and patch owners.
     */
    public Inputs reducer(TokenReducer r) {
      this.reducer = r;
      return this;
    }

    /** Training: the step's seed [2] for drop path. Absent means inference. */
    public Inputs dropSeed(Operand<TInt64> s) {
      this.dropSeed = s;
      return this;
    }
  }

  /**
   * Outputs of a forward pass.
   *
   * @param blockOutputs output of each block (0-based), pre-norm, [B, T_l, D]
   * @param normed final LayerNorm output [B, T, D], CLS at index 0
   * @param state the final token state (slots and sizes after token reduction)
   * @param attentions each block's attention
   */
  public record Output(List<Operand<TFloat32>> blockOutputs, Operand<TFloat32> normed, TokenState state,
      List<Attention.Output> attentions) {
    public Operand<TFloat32> cls(Ops tf) {
      return tf.squeeze(tf.stridedSlice(normed, tf.constant(new int[] {0, 0, 0}), tf.constant(new int[] {0, 1, 0}),
          tf.constant(new int[] {1, 1, 1}), org.tensorflow.op.core.StridedSlice.beginMask(5L),
          org.tensorflow.op.core.StridedSlice.endMask(5L)), org.tensorflow.op.core.Squeeze.axis(List.of(1L)));
    }

    /** Patch tokens after the final norm, [B, T−1, D]. */
    public Operand<TFloat32> patchTokens(Ops tf) {
      return dropCls(tf, normed);
    }

    /** Mean of the normed patch tokens, [B, D] (MAE/MOCA's [AVG], BEiT's mean pooling input). */
    public Operand<TFloat32> avgPool(Ops tf) {
      return tf.math.mean(patchTokens(tf), tf.constant(1), Mean.keepDims(false));
    }
  }

  /** Drops sequence index 0 (CLS) of [B, T, D]. */
  public static Operand<TFloat32> dropCls(Ops tf, Operand<TFloat32> x) {
    return tf.stridedSlice(x, tf.constant(new int[] {0, 1, 0}), tf.constant(new int[] {0, 0, 0}),
        tf.constant(new int[] {1, 1, 1}), org.tensorflow.op.core.StridedSlice.beginMask(5L),
        org.tensorflow.op.core.StridedSlice.endMask(7L));
  }

  private VisionTransformer(VitConfig cfg, Dense patchEmbed, Param clsToken, Param maskToken, Param posTable,
      RelativePositionBias sharedRelBias, List<RelativePositionBias> blockRelBias, List<Block> blocks, LayerNorm norm,
      InitScheme init) {
    this.cfg = cfg;
    this.patchEmbed = patchEmbed;
    this.clsToken = clsToken;
    this.maskToken = maskToken;
    this.posTable = posTable;
    this.sharedRelBias = sharedRelBias;
    this.blockRelBias = blockRelBias;
    this.blocks = blocks;
    this.norm = norm;
    this.init = init;
  }

  /**
   * Creates the variables under {@code tf}'s scope (e.g. {@code encoder}).
   *
   * @param withMaskToken whether to create {@code mask_token} (BEiT-family pre-training)
   */
  public static VisionTransformer create(ParamStore ps, Ops tf, VitConfig cfg, boolean withMaskToken) {
    InitScheme init = new InitScheme(cfg.init(), cfg.initSeed());
    int d = cfg.width();
    int pd = cfg.patchDim();
    Dense pe = Dense.create(ps, tf.withSubScope("patch_embed").withSubScope("proj"), pd, d, true,
        init.patchKernel(pd, d), 0);
    Param cls = ps.create(tf, "cls_token", Shape.of(1, 1, d), Param.Kind.NO_DECAY_TOKEN, 0, true, init.token());
    Param mask = withMaskToken
        ? ps.create(tf, "mask_token", Shape.of(1, 1, d), Param.Kind.MASK_TOKEN, 0, true, init.token())
        : null;
    Param pos = null;
    if (cfg.absPos() == ModelConfig.AbsPosEmbedding.LEARNED) {
      pos = ps.create(tf, "pos_embed", Shape.of(cfg.numPatches() + 1, d), Param.Kind.NO_DECAY_TOKEN, 0, true,
          init.positionTable());
    }
    RelativePositionBias shared = null;
    List<RelativePositionBias> perBlock = new ArrayList<>();
    if (cfg.relPos() == ModelConfig.RelPosBias.SHARED) {
      shared = RelativePositionBias.create(ps, tf.withSubScope("rel_pos_bias"), cfg.grid(), cfg.grid(),
          cfg.numHeads(), cfg.depth() + 1);
    }
    List<Block> blocks = new ArrayList<>();
    Ops bt = tf.withSubScope("blocks");
    for (int i = 0; i < cfg.depth(); i++) {
      Ops bi = bt.withSubScope(Integer.toString(i));
      int layer = i + 1;
      // per-block table as BEiT's fine-tuning model: blocks/i/attn/relative_position_bias_table
      java.util.function.Consumer<Ops> table = cfg.relPos() != ModelConfig.RelPosBias.PER_BLOCK ? null
          : attn -> perBlock.add(RelativePositionBias.create(ps, attn, cfg.grid(), cfg.grid(), cfg.numHeads(), layer));
      blocks.add(Block.create(ps, bi, d, cfg.numHeads(), cfg.mlpDim(), cfg.qkvBias(), cfg.layerScaleInit(),
          cfg.dropPath(i, cfg.depth()), cfg.layerNormEps(), init, layer, table));
    }
    LayerNorm norm = LayerNorm.create(ps, tf.withSubScope("norm"), d, cfg.layerNormEps(), cfg.depth() + 1);
    return new VisionTransformer(cfg, pe, cls, mask, pos, shared, perBlock, blocks, norm, init);
  }

  public VitConfig config() {
    return cfg;
  }

  public InitScheme initScheme() {
    return init;
  }

  public List<Block> blocks() {
    return blocks;
  }

  /** The shared relative position bias [heads, N+1, N+1] (also used by heads' extra blocks), or null. */
  public Operand<TFloat32> sharedRelativeBias(Ops tf) {
    return sharedRelBias == null ? null : sharedRelBias.bias(tf);
  }

  /** Normalises [0, 1] images with the recipe's mean/std (identity when none). */
  public Operand<TFloat32> normalizeInput(Ops tf, Operand<TFloat32> images) {
    if (cfg.inputMean() == null) {
      return images;
    }
    float[] inv = new float[cfg.inputStd().length];
    for (int i = 0; i < inv.length; i++) {
      inv[i] = 1f / cfg.inputStd()[i];
    }
    return tf.math.mul(tf.math.sub(images, tf.constant(cfg.inputMean())), tf.constant(inv));
  }

  /** Patch embedding of normalised images: [B, H, W, C] → [B, N, D]. */
  public Operand<TFloat32> embedPatches(Ops tf, Compute c, Operand<TFloat32> normalized) {
    Operand<TFloat32> p = Patches.patchify(tf, normalized, cfg.imageSize(), cfg.patchSize(), cfg.channels());
    Operand<TFloat32> rows = tf.reshape(p, tf.constant(new int[] {-1, cfg.patchDim()}));
    return tf.reshape(patchEmbed.apply(tf, c, rows), tf.constant(new int[] {-1, cfg.numPatches(), cfg.width()}));
  }

  /**
   * The forward pass on images [B, H, W, C] with values in [0, 1].
   */
  public Output forward(Ops tf, Compute c, Operand<TFloat32> images, Inputs in) {
    int d = cfg.width();
    int n = cfg.numPatches();
    Operand<TFloat32> x = embedPatches(tf, c, normalizeInput(tf, images));
    if (in.mask != null) {
      checkState(maskToken != null, "forward with a mask needs a ViT created with a mask token");
      Operand<TFloat32> m = tf.expandDims(tf.dtypes.cast(in.mask, TFloat32.class), tf.constant(-1));
      // x·(1−m) + mask_token·m (BEiT: replaces the embedding, conv bias included)
      x = tf.math.add(tf.math.mul(x, tf.math.sub(tf.constant(1f), m)), tf.math.mul(maskToken.read(), m));
    }
    Operand<TFloat32> clsPos = null;
    Operand<TFloat32> patchPos = patchPositions(tf);
    if (patchPos != null) {
      x = tf.math.add(x, patchPos);
      clsPos = clsPosition(tf);
    }
    int tokensPatches = n;
    if (in.keep != null) {
      checkArgument(sharedRelBias == null && blockRelBias.isEmpty(),
          "visible-token encoding cannot use a relative position bias (it indexes the full grid)");
      x = tf.gather(x, in.keep, tf.constant(1), Gather.batchDims(1L));
      tokensPatches = (int) in.keep.shape().get(1);
      checkArgument(tokensPatches > 0, "keep indices need a static count, got shape %s", in.keep.shape());
    }
    Operand<TFloat32> cls = clsToken.read();
    if (clsPos != null) {
      cls = tf.math.add(cls, clsPos);
    }
    Operand<TInt32> batch = tf.slice(tf.shape(x), tf.constant(new int[] {0}), tf.constant(new int[] {1}));
    Operand<TFloat32> clsB = tf.broadcastTo(cls, tf.concat(List.of(batch, tf.constant(new int[] {1, d})),
        tf.constant(0)));
    x = tf.concat(List.of(clsB, x), tf.constant(1));
    int t = tokensPatches + 1;
    Operand<TFloat32> rows = tf.reshape(x, tf.constant(new int[] {-1, d}));
    TokenState state;
    if (in.reducer != null) {
      checkArgument(in.keep == null, "a token reducer works on the full token set; it cannot be combined with keep "
          + "indices");
      state = TokenState.tracked(tf, rows, n, batch);
    } else {
      state = TokenState.of(rows, t);
    }
    Operand<TFloat32> shared = sharedRelativeBias(tf);
    List<Operand<TFloat32>> outs = new ArrayList<>();
    List<Attention.Output> atts = new ArrayList<>();
    // Each block may hand the next its LN₁ (and the last one the final norm), fused with its last
    // residual step (Block.apply, Compute.fusedResidual); null where it did not.
    Operand<TFloat32> normedNext = null;
    for (int i = 0; i < blocks.size(); i++) {
      Operand<TFloat32> bias = blockRelBias.isEmpty() ? shared : blockRelBias.get(i).bias(tf);
      if (bias != null) {
        checkState(state.tokens() == n + 1, "relative position bias needs all %s tokens, block %s has %s", n + 1, i,
            state.tokens());
      }
      LayerNorm next = i + 1 < blocks.size() ? blocks.get(i + 1).norm1() : norm;
      Block.Result r = blocks.get(i).apply(tf, c, state, bias, in.dropSeed, in.reducer, i, normedNext, next);
      state = r.state();
      normedNext = r.normedNext();
      atts.add(r.attention());
      outs.add(tf.reshape(state.rows(), tf.constant(new int[] {-1, state.tokens(), d})));
    }
    Operand<TFloat32> finalRows = normedNext != null ? normedNext : norm.apply(tf, c, state.rows());
    Operand<TFloat32> normed = tf.reshape(finalRows, tf.constant(new int[] {-1, state.tokens(), d}));
    return new Output(outs, normed, state, atts);
  }

  /** Absolute position rows of the patches [N, D], or null without absolute embedding. */
  public Operand<TFloat32> patchPositions(Ops tf) {
    Operand<TFloat32> table = positionTable(tf);
    return table == null ? null : tf.slice(table, tf.constant(new int[] {1, 0}), tf.constant(new int[] {-1, -1}));
  }

  private Operand<TFloat32> clsPosition(Ops tf) {
    Operand<TFloat32> table = positionTable(tf);
    return tf.slice(table, tf.constant(new int[] {0, 0}), tf.constant(new int[] {1, -1}));
  }

  private Operand<TFloat32> positionTable(Ops tf) {
    return switch (cfg.absPos()) {
      case SINCOS_2D -> tf.reshape(tf.constant(Positions.sinCos2d(cfg.grid(), cfg.grid(), cfg.width(), true)),
          tf.constant(new int[] {cfg.numPatches() + 1, cfg.width()}));
      case LEARNED -> posTable.read();
      default -> null;
    };
  }

  /** The final LayerNorm (BEiT v2 shares it with its aggregation branch). */
  public LayerNorm norm() {
    return norm;
  }
}
