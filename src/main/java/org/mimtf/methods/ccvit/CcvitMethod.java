package org.mimtf.methods.ccvit;

import java.util.List;
import org.mimtf.api.EncoderSpec;
import org.mimtf.api.Losses;
import org.mimtf.api.MimMethod;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.config.proto.CcvitConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.pipeline.SampleStage;
import org.mimtf.nn.AggregationHead;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Dense;
import org.mimtf.nn.LayerNorm;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.Patches;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.tokenizers.CentroidAssign;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * CCViT (Yan et al. 2023; ccvit.md): k-means centroids of raw pixel patches are both the tokenizer
 * and a way to corrupt the input. Each image is corrupted twice over: a block-wise mask (mask token)
 * and, among the visible patches, a few replaced by their nearest centroid's pixels. The encoder
 * predicts the centroid id of every corrupted position from its last layer (cross-entropy), and a
 * 2-block pixel head fed with [last-layer CLS; block-l patch tokens] regresses the per-patch
 * normalised original pixels there (MSE):
 * <pre>  L = CE(token_logits[T], ids[T]) + MSE(pixel_pred[T], normalise(x)[T]),  T = M ∪ R  (Eq. 7)</pre>
 * With {@code pixel_block_target: TOKENS} (the "tokens only" rows of the paper's Table 3) the pixel
 * block predicts the centroid ids too, and its MSE becomes a second cross-entropy.
 *
 * <p>Batch fields: {@code image} [B, H, W, C] in [0, 1], {@code mask} [B, N], {@code replaced} [B, N]
 * (disjoint from the mask; drawn by the pipeline).
 */
public final class CcvitMethod implements MimMethod {
  private final Recipe recipe;
  private final CcvitConfig cfg;
  private final VitConfig vit;
  private final float[] centroids;
  private final int numCentroids;
  private final String view;
  private VisionTransformer encoder;
  private Dense tokenHead;
  private AggregationHead pixelBlock;
  private LayerNorm pixelNorm;
  private Dense pixelHead;
  private Param centroidTable;
  private final boolean tokensAfterPixelBlock;

  /**
   * @param centroids the tokenizer's centroids [K, C·P·P] in (c, py, px) order, row-major
   */
  public CcvitMethod(Recipe recipe, float[] centroids, int numCentroids) {
    this.recipe = recipe;
    this.cfg = recipe.getCcvit();
    this.vit = VitConfig.from(recipe.getModel());
    this.centroids = centroids;
    this.numCentroids = numCentroids;
    this.view = recipe.getData().getView(0).getName();
    this.tokensAfterPixelBlock = cfg.getPixelBlockTarget() == CcvitConfig.PixelBlockTarget.TOKENS;
    if (centroids.length != numCentroids * vit.patchDim()) {
      throw new IllegalArgumentException("centroids hold " + centroids.length + " values; expected "
          + numCentroids + " x " + vit.patchDim() + " (K x C·P·P)");
    }
  }

  @Override
  public String name() {
    return "ccvit";
  }

  @Override
  public List<SampleStage> extraStages() {
    return new CcvitSpec().pipelineStages(recipe);
  }

  @Override
  public void create(Ops tf, ParamStore ps) {
    encoder = VisionTransformer.create(ps, tf.withSubScope("encoder"), vit, true);
    Ops heads = tf.withSubScope("heads");
    int d = vit.width();
    tokenHead = Dense.create(ps, heads.withSubScope("token"), d, numCentroids, true,
        encoder.initScheme().kernel(d, numCentroids, 1f), vit.depth() + 1);
    Ops pix = heads.withSubScope("pixel");
    pixelBlock = AggregationHead.create(ps, pix, encoder, cfg.getPixelHead(), cfg.getEarlyLayers());
    pixelNorm = LayerNorm.create(ps, pix.withSubScope("norm"), d, vit.layerNormEps(), vit.depth() + 1);
    int out = tokensAfterPixelBlock ? numCentroids : vit.patchDim();
    pixelHead = Dense.create(ps, pix.withSubScope("head"), d, out, true,
        encoder.initScheme().kernel(d, out, 1f), vit.depth() + 1);
    // The tokenizer travels with the model (and its checkpoints), frozen.
    centroidTable = ps.create(tf.withSubScope("tokenizer"), "centroids", Shape.of(numCentroids, vit.patchDim()),
        Param.Kind.STATE, 0, false, (t, n, s) -> t.reshape(t.constant(centroids),
            t.constant(new long[] {numCentroids, vit.patchDim()})));
  }

  @Override
  public TowerOutput tower(Ops tf, Compute c, TowerInputs in) {
    Operand<TFloat32> image = in.floats(view);
    // The official code tokenises a second copy of the same crop; without colour jitter it is the same
    // image, so one view serves as both the input and the tokenizer's view.
    return build(tf, c, image, image, in.bools("mask"), in.bools("replaced"), in.step().dropSeed());
  }

  /**
   * The CCViT graph for an input view and the view the tokenizer reads (the same crop; targets come
   * from {@code tokenView}), the mask M and the replaced positions R.
   */
  TowerOutput build(Ops tf, Compute c, Operand<TFloat32> image, Operand<TFloat32> tokenView, Operand<TBool> mask,
      Operand<TBool> replaced, Operand<TInt64> dropSeed) {
    int n = vit.numPatches();
    int pd = vit.patchDim();
    Operand<TFloat32> table = centroidTable.read();

    // Tokenise the un-normalised [0, 1] view (ccvit.md §9).
    Operand<TFloat32> patches = Patches.patchify(tf, tokenView, vit.imageSize(), vit.patchSize(), vit.channels());
    Operand<TFloat32> inputPatches = Patches.patchify(tf, image, vit.imageSize(), vit.patchSize(), vit.channels());
    Operand<TFloat32> rows = tf.reshape(patches, tf.constant(new int[] {-1, pd}));
    Operand<TInt32> ids = tf.stopGradient(tf.reshape(CentroidAssign.ids(tf, c, rows, table),
        tf.constant(new int[] {-1, n})));

    // Replace R patches by their centroid's pixels, before normalisation and patch embedding.
    Operand<TFloat32> centroidPixels = tf.gather(table, ids, tf.constant(0));
    Operand<TBool> rep3 = tf.broadcastTo(tf.expandDims(replaced, tf.constant(-1)), tf.shape(patches));
    Operand<TFloat32> corruptedPatches = tf.select(rep3, centroidPixels, inputPatches);
    Operand<TFloat32> input = Patches.unpatchify(tf, corruptedPatches, vit.imageSize(), vit.patchSize(),
        vit.channels());

    VisionTransformer.Output out = encoder.forward(tf, c, input,
        VisionTransformer.Inputs.none().mask(mask).dropSeed(dropSeed));

    // T = M ∪ R (disjoint by construction); both losses are taken there only.
    Operand<TBool> corrupted = tf.math.logicalOr(mask, replaced);
    Operand<TInt64> where = tf.where(corrupted);

    Operand<TFloat32> tokens = tf.gatherNd(out.patchTokens(tf), where);
    Operand<TFloat32> logits = tokenHead.apply(tf, c, tokens);
    Operand<TInt32> labels = tf.gatherNd(ids, where);
    Operand<TFloat32> ce = Losses.crossEntropy(tf, logits, labels, numCentroids);

    Operand<TFloat32> agg = pixelBlock.apply(tf, c, out, encoder.sharedRelativeBias(tf), dropSeed);
    Operand<TFloat32> pixTokens = tf.gatherNd(VisionTransformer.dropCls(tf, agg), where);
    Operand<TFloat32> pred = pixelHead.apply(tf, c, pixelNorm.apply(tf, pixTokens));
    Operand<TFloat32> pixelBlockLoss;
    Operand<TFloat32> shownPred; // [|T|, C·P·P] in [0, 1] pixel units, for the reconstruction image
    if (tokensAfterPixelBlock) {
      pixelBlockLoss = Losses.crossEntropy(tf, pred, labels, numCentroids);
      shownPred = tf.gather(table, tf.math.argMax(pred, tf.constant(-1), TInt32.class), tf.constant(0));
    } else {
      Operand<TFloat32> original = tf.gatherNd(patches, where);
      Operand<TFloat32> target = cfg.getNormalizePixelTarget()
          ? Losses.normalizePerPatch(tf, original, 1e-6f) : original;
      pixelBlockLoss = tf.math.mean(tf.math.squaredDifference(pred, tf.stopGradient(target)),
          tf.constant(new int[] {0, 1}));
      shownPred = denormalized(tf, original, pred);
    }

    Operand<TFloat32> loss = tf.math.add(tf.math.mul(ce, tf.constant(cfg.getTokenLossWeight())),
        tf.math.mul(pixelBlockLoss, tf.constant(cfg.getPixelLossWeight())));

    // Accuracy on masked positions, and separately on replaced ones (ccvit.md §10: R should be easier).
    Operand<TFloat32> allLogits = tf.reshape(tokenHead.apply(tf, c, tf.reshape(out.patchTokens(tf),
        tf.constant(new int[] {-1, vit.width()}))), tf.constant(new int[] {-1, n, numCentroids}));
    Operand<TFloat32> correct = tf.dtypes.cast(tf.math.equal(
        tf.math.argMax(allLogits, tf.constant(2), TInt32.class), ids), TFloat32.class);
    Operand<TFloat32> accMasked = Losses.maskedMean(tf, correct, mask);
    Operand<TFloat32> accReplaced = Losses.maskedMean(tf, correct, replaced);

    Operand<TFloat32> recon = reconstruction(tf, patches, shownPred, where, mask, replaced);
    Operand<TFloat32> shown = Patches.unpatchify(tf, tf.select(
        tf.broadcastTo(tf.expandDims(mask, tf.constant(-1)), tf.shape(patches)),
        tf.fill(tf.shape(patches), tf.constant(0.5f)), corruptedPatches), vit.imageSize(), vit.patchSize(),
        vit.channels());
    return TowerOutput.builder(loss)
        .term("token_ce", ce)
        .term(tokensAfterPixelBlock ? "pixel_block_ce" : "pixel_mse", pixelBlockLoss)
        .metric("token_acc_masked", accMasked)
        .metric("token_acc_replaced", accReplaced)
        .image("original", image)
        .image("input", shown)
        .image("reconstruction", recon)
        .build();
  }

  /** The pixel head's prediction in pixel units: undoes the per-patch normalisation of the target. */
  private Operand<TFloat32> denormalized(Ops tf, Operand<TFloat32> orig, Operand<TFloat32> pred) {
    if (!cfg.getNormalizePixelTarget()) {
      return pred;
    }
    Operand<TFloat32> mean = tf.math.mean(orig, tf.constant(-1), org.tensorflow.op.math.Mean.keepDims(true));
    Operand<TFloat32> std = tf.math.sqrt(tf.math.add(Losses.unbiasedVariance(tf, orig), tf.constant(1e-6f)));
    return tf.math.add(tf.math.mul(pred, std), mean);
  }

  /**
   * Original pixels where uncorrupted, the pixel block's prediction at T ({@code shown}: pixels, or the
   * centroid of the predicted id when the pixel block predicts tokens).
   */
  private Operand<TFloat32> reconstruction(Ops tf, Operand<TFloat32> patches, Operand<TFloat32> shown,
      Operand<TInt64> where, Operand<TBool> mask, Operand<TBool> replaced) {
    Operand<TFloat32> scattered = tf.scatterNd(where, shown, tf.shape(patches, TInt64.class));
    Operand<TBool> t = tf.math.logicalOr(mask, replaced);
    Operand<TFloat32> merged = tf.select(tf.broadcastTo(tf.expandDims(t, tf.constant(-1)), tf.shape(patches)),
        scattered, patches);
    return tf.clipByValue(Patches.unpatchify(tf, merged, vit.imageSize(), vit.patchSize(), vit.channels()),
        tf.constant(0f), tf.constant(1f));
  }

  @Override
  public EncoderSpec encoder() {
    return new EncoderSpec(vit, "encoder");
  }

  public Recipe recipe() {
    return recipe;
  }
}
