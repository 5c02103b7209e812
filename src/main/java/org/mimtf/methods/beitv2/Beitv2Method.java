package org.mimtf.methods.beitv2;

import java.util.List;
import org.mimtf.api.BatchModel;
import org.mimtf.api.EncoderSpec;
import org.mimtf.api.Losses;
import org.mimtf.api.MimMethod;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.config.proto.Beitv2Config;
import org.mimtf.config.proto.Recipe;
import org.mimtf.nn.AggregationHead;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Dense;
import org.mimtf.nn.LayerNorm;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.teachers.TokenizerIds;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * Stage 2 of BEiT v2 (Peng et al. 2022; beitv2.md §3): masked image modeling with the frozen VQ-KD
 * tokenizer's code ids as targets, plus the patch-aggregation loss:
 * <pre>  L = CE(lm_head(LN(h_L))[M], ids[M]) + CE(lm_head(LN(agg([h_L^CLS; h_l^patches])))[M], ids[M])</pre>
 * The aggregation head (2 blocks by default) sees the last block's CLS and block-l patch tokens, so
 * the only way late information reaches its predictions is through CLS. As in the official code the
 * final LayerNorm and the MIM head are shared by both branches ({@code shared_lm_head}).
 *
 * <p>Batch fields: {@code image} [B, H, W, C] in [0, 1], {@code mask} [B, N] (block-wise), and
 * {@code tokens} [B, N] filled by the tokenizer SavedModel loaded beside the session.
 */
public final class Beitv2Method implements MimMethod {
  static final String TOKENS = "tokens";
  private final Beitv2Config cfg;
  private final VitConfig vit;
  private final TokenizerIds tokenizer;
  private final int vocab;
  private final String view;
  private VisionTransformer encoder;
  private Dense lmHead;
  private AggregationHead aggregation;
  private LayerNorm aggNorm;
  private Dense aggHead;

  public Beitv2Method(Recipe r, TokenizerIds tokenizer) {
    this.cfg = r.getBeitv2();
    this.vit = VitConfig.from(r.getModel());
    this.tokenizer = tokenizer;
    this.vocab = cfg.getTokenizer().getCodebookSize();
    this.view = r.getData().getView(0).getName();
  }

  @Override
  public String name() {
    return "beitv2";
  }

  @Override
  public List<BatchModel> batchModels() {
    return tokenizer == null ? List.of() : List.of(tokenizer);
  }

  @Override
  public void create(Ops tf, ParamStore ps) {
    encoder = VisionTransformer.create(ps, tf.withSubScope("encoder"), vit, true);
    Ops heads = tf.withSubScope("heads");
    int d = vit.width();
    lmHead = Dense.create(ps, heads.withSubScope("mim"), d, vocab, true, encoder.initScheme().kernel(d, vocab, 1f),
        vit.depth() + 1);
    if (cfg.getUseAggregation()) {
      Ops agg = heads.withSubScope("aggregation");
      aggregation = AggregationHead.create(ps, agg, encoder, cfg.getAggregationHead(), cfg.getEarlyLayers());
      if (!cfg.getSharedLmHead()) {
        aggNorm = LayerNorm.create(ps, agg.withSubScope("norm"), d, vit.layerNormEps(), vit.depth() + 1);
        aggHead = Dense.create(ps, agg.withSubScope("head"), d, vocab, true, encoder.initScheme().kernel(d, vocab, 1f),
            vit.depth() + 1);
      }
    }
  }

  @Override
  public TowerOutput tower(Ops tf, Compute c, TowerInputs in) {
    Operand<TBool> mask = in.bools("mask");
    Operand<TInt32> tokens = in.ints(TOKENS);
    Operand<TInt64> dropSeed = in.step().dropSeed();
    VisionTransformer.Output out = encoder.forward(tf, c, in.floats(view),
        VisionTransformer.Inputs.none().mask(mask).dropSeed(dropSeed));
    Operand<TInt64> where = tf.where(mask);
    Operand<TInt32> labels = tf.gatherNd(tokens, where);
    Operand<TFloat32> logits = lmHead.apply(tf, c, tf.gatherNd(out.patchTokens(tf), where));
    Operand<TFloat32> ce = Losses.crossEntropy(tf, logits, labels, vocab);
    TowerOutput.Builder b;
    Operand<TFloat32> accMain = accuracy(tf, logits, labels);
    if (aggregation == null) {
      b = TowerOutput.builder(ce).term("mim_ce", ce);
    } else {
      Operand<TFloat32> agg = aggregation.apply(tf, c, out, encoder.sharedRelativeBias(tf), dropSeed);
      Operand<TFloat32> rows = tf.gatherNd(VisionTransformer.dropCls(tf, agg), where);
      Operand<TFloat32> aggLogits = aggHead == null
          ? lmHead.apply(tf, c, encoder.norm().apply(tf, rows))
          : aggHead.apply(tf, c, aggNorm.apply(tf, rows));
      Operand<TFloat32> ceAgg = Losses.crossEntropy(tf, aggLogits, labels, vocab);
      b = TowerOutput.builder(tf.math.add(ce, ceAgg)).term("mim_ce", ce).term("aggregation_ce", ceAgg)
          .metric("aggregation_acc", accuracy(tf, aggLogits, labels));
    }
    return b.metric("mim_acc", accMain).image("input", in.floats(view)).build();
  }

  static Operand<TFloat32> accuracy(Ops tf, Operand<TFloat32> logits, Operand<TInt32> labels) {
    return tf.math.mean(tf.dtypes.cast(tf.math.equal(tf.math.argMax(logits, tf.constant(1), TInt32.class), labels),
        TFloat32.class), tf.constant(0));
  }

  @Override
  public EncoderSpec encoder() {
    return new EncoderSpec(vit, "encoder");
  }
}
