package org.mimtf.nn;

import org.mimtf.config.proto.ModelConfig;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * The pre-norm transformer block (common-vit.md §5):
 * {@code x ← x + DropPath(γ₁ ⊙ Attn(LN₁(x)))}, [token reduction], {@code x ← x + DropPath(γ₂ ⊙ MLP(LN₂(x)))}.
 * Layer scale γ is omitted when its init value is 0, drop path when its rate is 0 — an option switched
 * off is absent from the graph, not a branch in it.
 */
public final class Block {
  private final LayerNorm norm1;
  private final Attention attn;
  private final Param gamma1;
  private final LayerNorm norm2;
  private final Mlp mlp;
  private final Param gamma2;
  private final float dropPath;
  private final int width;
  private final int salt;

  /**
   * A block's output and its attention (for reducers and diagnostics); {@code normedNext} is the
   * next LayerNorm of the output when the block was asked for it and fused it with its last residual
   * step, else null.
   */
  public record Result(TokenState state, Attention.Output attention, Operand<TFloat32> normedNext) {}

  private Block(LayerNorm norm1, Attention attn, Param gamma1, LayerNorm norm2, Mlp mlp, Param gamma2, float dropPath,
      int width, int salt) {
    this.norm1 = norm1;
    this.attn = attn;
    this.gamma1 = gamma1;
    this.norm2 = norm2;
    this.mlp = mlp;
    this.gamma2 = gamma2;
    this.dropPath = dropPath;
    this.width = width;
    this.salt = salt;
  }

  /**
   * Creates a block under {@code tf}'s scope (e.g. {@code encoder/blocks/3}).
   *
   * @param layer 1-based layer id for BEiT's init rescale (output projections / √(2·layer)) and for
   *     layer-wise lr decay
   */
  public static Block create(ParamStore ps, Ops tf, int width, int heads, int mlpDim, ModelConfig.QkvBias qkvBias,
      float layerScaleInit, float dropPath, float eps, InitScheme init, int layer) {
    return create(ps, tf, width, heads, mlpDim, qkvBias, layerScaleInit, dropPath, eps, init, layer, null);
  }

  /**
   * As above; {@code inAttention} (when not null) receives the attention's scope to create parameters
   * that belong there, e.g. BEiT's per-block {@code blocks/i/attn/relative_position_bias_table} (a
   * second {@code withSubScope("attn")} would be uniquified to {@code attn_1}).
   */
  public static Block create(ParamStore ps, Ops tf, int width, int heads, int mlpDim, ModelConfig.QkvBias qkvBias,
      float layerScaleInit, float dropPath, float eps, InitScheme init, int layer,
      java.util.function.Consumer<Ops> inAttention) {
    float rescale = init.rescalesOutputs() ? (float) Math.sqrt(2.0 * layer) : 1f;
    LayerNorm n1 = LayerNorm.create(ps, tf.withSubScope("norm1"), width, eps, layer);
    Ops attnScope = tf.withSubScope("attn");
    Attention a = Attention.create(ps, attnScope, width, heads, qkvBias, init, rescale, layer);
    if (inAttention != null) {
      inAttention.accept(attnScope);
    }
    LayerNorm n2 = LayerNorm.create(ps, tf.withSubScope("norm2"), width, eps, layer);
    Mlp m = Mlp.create(ps, tf.withSubScope("mlp"), width, mlpDim, init, rescale, layer);
    Param g1 = null;
    Param g2 = null;
    if (layerScaleInit > 0) {
      g1 = ps.create(tf, "gamma_1", Shape.of(width), Param.Kind.GAMMA, layer, true, InitScheme.constant(layerScaleInit));
      g2 = ps.create(tf, "gamma_2", Shape.of(width), Param.Kind.GAMMA, layer, true, InitScheme.constant(layerScaleInit));
    }
    return new Block(n1, a, g1, n2, m, g2, dropPath, width, layer);
  }

  /**
   * Runs the block.
   *
   * @param bias additive attention bias (relative position bias), or null
   * @param dropSeed the step's drop-path seed in training, null at inference
   * @param reducer token reducer for this block, or null
   * @param blockIndex 0-based index passed to the reducer
   */
  public Result apply(Ops tf, Compute c, TokenState in, Operand<TFloat32> bias, Operand<TInt64> dropSeed,
      TokenReducer reducer, int blockIndex) {
    return apply(tf, c, in, bias, dropSeed, reducer, blockIndex, null, null);
  }

  /**
   * As above, in a chain of blocks: {@code normedIn} is {@code LN₁(in)} made by the previous block
   * (or null), and {@code nextNorm} the LayerNorm that will read this block's output (the next
   * block's LN₁ or the encoder's final norm; or null). Where {@link Compute#fusedResidual()} holds and
   * drop path is off, each residual step is fused with the LayerNorm after it ({@link
   * FusedResidualLayerNorm}): x + γ₁ ⊙ Attn with LN₂ (unless the reducer acts in between), x + γ₂ ⊙
   * MLP with {@code nextNorm}, whose result is {@link Result#normedNext}.
   */
  public Result apply(Ops tf, Compute c, TokenState in, Operand<TFloat32> bias, Operand<TInt64> dropSeed,
      TokenReducer reducer, int blockIndex, Operand<TFloat32> normedIn, LayerNorm nextNorm) {
    int t = in.tokens();
    Operand<TFloat32> attnBias = bias;
    if (reducer != null && reducer.proportionalAttention() && in.sizes() != null) {
      // ToMe proportional attention: + log(size of key) [B, 1, 1, T]
      Operand<TFloat32> logSize = tf.reshape(tf.math.log(in.sizes()), tf.constant(new int[] {-1, 1, 1, t}));
      attnBias = attnBias == null ? logSize : tf.math.add(attnBias, logSize);
    }
    boolean fuse = c.fusedResidual() && (dropPath <= 0f || dropSeed == null);
    Attention.Output a = attn.apply(tf, c, normedIn != null ? normedIn : norm1.apply(tf, c, in.rows()), t, attnBias);
    boolean reduces = reducer != null && reducer.appliesTo(blockIndex);
    TokenState state;
    Operand<TFloat32> normed2 = null;
    if (fuse && !reduces) {
      FusedResidualLayerNorm.Output r = norm2.afterResidual(tf, in.rows(), a.beforeBias(),
          attn.proj().bias().read(), read(gamma1));
      state = in.withRows(r.out());
      normed2 = r.normed();
    } else {
      Operand<TFloat32> x = tf.math.add(in.rows(), residual(tf, scale(tf, a.out(), gamma1), t, dropSeed, 0));
      state = in.withRows(x);
      if (reduces) {
        state = reducer.reduce(tf, c, state, a, blockIndex);
      }
    }
    int t2 = state.tokens();
    Operand<TFloat32> normedMlpIn = normed2 != null ? normed2 : norm2.apply(tf, c, state.rows());
    if (fuse && nextNorm != null && mlp.outputBias() != null) {
      FusedResidualLayerNorm.Output r = nextNorm.afterResidual(tf, state.rows(),
          mlp.applyBeforeBias(tf, c, normedMlpIn), mlp.outputBias().read(), read(gamma2));
      return new Result(state.withRows(r.out()), a, r.normed());
    }
    Operand<TFloat32> m = mlp.apply(tf, c, normedMlpIn);
    Operand<TFloat32> y = tf.math.add(state.rows(), residual(tf, scale(tf, m, gamma2), t2, dropSeed, 1));
    return new Result(state.withRows(y), a, null);
  }

  private static Operand<TFloat32> read(Param p) {
    return p == null ? null : p.read();
  }

  /** LN₁, which the previous block may fuse with its last residual step. */
  public LayerNorm norm1() {
    return norm1;
  }

  private static Operand<TFloat32> scale(Ops tf, Operand<TFloat32> x, Param gamma) {
    return gamma == null ? x : tf.math.mul(x, gamma.read());
  }

  private Operand<TFloat32> residual(Ops tf, Operand<TFloat32> branch, int tokens, Operand<TInt64> seed, int which) {
    if (dropPath <= 0f || seed == null) {
      return branch;
    }
    Operand<TFloat32> b3 = tf.reshape(branch, tf.constant(new int[] {-1, tokens, width}));
    Operand<TFloat32> d = DropPath.apply(tf, b3, dropPath, seed, salt * 2 + which, 3);
    return tf.reshape(d, tf.constant(new int[] {-1, width}));
  }

  public Attention attention() {
    return attn;
  }

  public Mlp mlp() {
    return mlp;
  }
}
