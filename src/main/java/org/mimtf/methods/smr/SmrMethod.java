package org.mimtf.methods.smr;

import java.util.List;
import org.mimtf.api.BatchModel;
import org.mimtf.api.EncoderSpec;
import org.mimtf.api.Losses;
import org.mimtf.api.MimMethod;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.SmrConfig;
import org.mimtf.nn.Compute;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.Patches;
import org.mimtf.nn.TokenState;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.nn.reduce.Slots;
import org.mimtf.nn.reduce.TokenCompression;
import org.mimtf.teachers.TeacherFeatures;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * SMR, semantic merging and reconstruction (paper: "Image compression is an effective objective for
 * visual representation learning"; smr.md): the whole, un-degraded image enters the encoder; inside
 * the first blocks a token compression function removes K tokens per block (ToMe merging by default:
 * 197 → 97 tokens for ViT-B/16 with 25 × 4); a 2-block decoder puts the survivors back on their grid
 * slots, fills the others with a learned dummy token, and reconstructs the frozen teacher's per-patch
 * features of the same image at <em>all</em> positions:
 * <pre>  L = SmoothL1_β(decoder(TC-encoder(x)), LN(teacher(x)))   (Eq. 4; loss and LN [inferred], smr.md §6)</pre>
 * After pre-training TC is removed: the export is a plain ViT ({@link #encoder()}); the merging encoder
 * can be exported too for fast inference ({@link MergingExport}).
 *
 * <p>Batch fields: the view ({@code image} [B, H, W, C] in [0, 1]) and, for teacher targets,
 * {@value #TEACHER_FIELD} [B, N, C_t] filled by the teacher SavedModel loaded beside the session.
 * Nothing is masked. Logged: the loss, the reconstruction's cosine similarity to the target, the
 * tokens left after each compressing block, and (images) the input, the merge groups and the survivors.
 */
public final class SmrMethod implements MimMethod {
  public static final String TEACHER_FIELD = "teacher_features";
  private final SmrConfig cfg;
  private final VitConfig vit;
  private final String view;
  private final TeacherFeatures teacher;
  private final int targetDim;
  private final TokenCompression.Config compression;
  private VisionTransformer encoder;
  private SmrDecoder decoder;

  /**
   * @param teacher the teacher filling {@value #TEACHER_FIELD} (null for pixel targets, or when the
   *     field is fed by other means: tests, benchmarks)
   * @param teacherDim the teacher's feature width (ignored for pixel targets)
   */
  public SmrMethod(Recipe r, TeacherFeatures teacher, int teacherDim) {
    this.cfg = r.getSmr();
    this.vit = VitConfig.from(r.getModel());
    this.view = r.getData().getView(0).getName();
    this.teacher = teacher;
    this.targetDim = cfg.getTarget() == SmrConfig.Target.PIXELS ? vit.patchDim() : teacherDim;
    this.compression = compression(cfg, vit.depth());
  }

  /** The recipe's compression configuration (blocks 0-based; empty {@code merge_blocks} = blocks 1–4). */
  public static TokenCompression.Config compression(SmrConfig s, int depth) {
    List<Integer> blocks = s.getMergeBlocksList().isEmpty()
        ? java.util.stream.IntStream.range(0, Math.min(4, depth)).boxed().toList()
        : s.getMergeBlocksList().stream().map(b -> b - 1).toList();
    TokenCompression.Kind kind = switch (s.getReducer()) {
      case TOKEN_MERGING -> TokenCompression.Kind.MERGE;
      case TOKEN_DROPPING -> TokenCompression.Kind.DROP;
      case INATTENTIVE_FUSION -> TokenCompression.Kind.FUSE;
      case RANDOM_DROPPING -> TokenCompression.Kind.RANDOM_DROP;
      case NO_REDUCTION -> TokenCompression.Kind.NONE;
    };
    return TokenCompression.Config.of(kind, s.getMergePerBlock(), blocks)
        .withProportionalAttention(s.getProportionalAttention())
        .withFusedTokenSlot(s.getFusedTokenSlot() == SmrConfig.FusedTokenSlot.MOST_ATTENTIVE_MEMBER)
        .withRandomSplit(s.getBipartiteSplit() == SmrConfig.BipartiteSplit.RANDOM);
  }

  @Override
  public String name() {
    return "smr";
  }

  @Override
  public List<BatchModel> batchModels() {
    return teacher == null ? List.of() : List.of(teacher);
  }

  @Override
  public void create(Ops tf, ParamStore ps) {
    encoder = VisionTransformer.create(ps, tf.withSubScope("encoder"), vit, false);
    decoder = SmrDecoder.create(ps, tf.withSubScope("decoder"), vit, cfg.getDecoder(), targetDim,
        encoder.initScheme());
  }

  @Override
  public TowerOutput tower(Ops tf, Compute c, TowerInputs in) {
    Operand<TFloat32> image = in.floats(view);
    Operand<TFloat32> target = cfg.getTarget() == SmrConfig.Target.PIXELS ? null : in.floats(TEACHER_FIELD);
    // The random-dropping ablation draws from the step's seed (stateless, so resumes draw the same).
    return build(tf, c, image, target, new TokenCompression(compression, in.step().seed()), in.step().dropSeed());
  }

  /** The SMR graph for one view and (teacher targets) the teacher's features [B, N, C_t]. */
  TowerOutput build(Ops tf, Compute c, Operand<TFloat32> image, Operand<TFloat32> teacherFeatures,
      TokenCompression reducer, Operand<org.tensorflow.types.TInt64> dropSeed) {
    VisionTransformer.Output out = encoder.forward(tf, c, image,
        VisionTransformer.Inputs.none().reducer(reducer).dropSeed(dropSeed));
    TokenState st = out.state();
    Operand<TFloat32> pred = decoder.apply(tf, c, out.normed(), st, cfg.getDecoderFill());
    Operand<TFloat32> patches = Patches.patchify(tf, image, vit.imageSize(), vit.patchSize(), vit.channels());
    Operand<TFloat32> target;
    if (cfg.getTarget() == SmrConfig.Target.PIXELS) {
      target = cfg.getNormalizePixelTarget() ? Losses.normalizePerPatch(tf, patches, 1e-6f) : patches;
    } else {
      target = org.mimtf.teachers.TeacherTargets.normalize(tf, teacherFeatures, cfg.getTeacher().getTargetNorm(),
          cfg.getTargetNormEps());
    }
    target = tf.stopGradient(target);
    Operand<TFloat32> loss = reconstructionLoss(tf, pred, target, cfg.getLoss(), cfg.getSmoothL1Beta());
    Operand<TFloat32> cosine = tf.math.mean(cosine(tf, pred, target), tf.constant(new int[] {0, 1}));

    TowerOutput.Builder b = TowerOutput.builder(loss).term("recon_loss", loss).metric("recon_cosine", cosine);
    int[] tokens = compression.tokensAfterBlocks(vit.numPatches(), vit.depth());
    for (int i = 0; i < tokens.length; i++) {
      if (compression.kind() != TokenCompression.Kind.NONE && compression.perBlock() > 0
          && compression.blocks().contains(i)) {
        b.metric("tokens_after_block" + (i + 1), tf.constant((float) tokens[i]));
      }
    }
    b.metric("tokens_encoder_out", tf.constant((float) st.tokens()));
    // the largest merge group (patches in one token), averaged over the batch: how uneven merging is
    Operand<TFloat32> patchSizes = VisionTransformer.dropCls(tf, st.sizes());
    b.metric("largest_group", tf.math.mean(tf.max(patchSizes, tf.constant(new int[] {1, 2})), tf.constant(0)));

    // images: the input, each patch painted with the mean of its merge group, and the survivors on
    // their slots (what the decoder sees; gray = dummy token)
    int pd = vit.patchDim();
    Operand<TFloat32> groups = Slots.groupMean(tf, patches, st.owner(), st.tokens(), 0.5f);
    Operand<TFloat32> ones = tf.fill(tf.shape(st.slots()), tf.constant(1f));
    Operand<TFloat32> occupied = VisionTransformer.dropCls(tf, Slots.scatter(tf, tf.expandDims(ones,
        tf.constant(-1)), st.slots(), vit.numPatches())[1]);
    Operand<TFloat32> survivors = tf.math.add(tf.math.mul(patches, occupied),
        tf.math.mul(tf.math.sub(tf.constant(1f), occupied), tf.constant(0.5f)));
    b.image("input", image)
        .image("merge_groups", Patches.unpatchify(tf, groups, vit.imageSize(), vit.patchSize(), vit.channels()))
        .image("survivors", Patches.unpatchify(tf, survivors, vit.imageSize(), vit.patchSize(), vit.channels()));
    if (cfg.getTarget() == SmrConfig.Target.PIXELS) {
      Operand<TFloat32> shown = pred;
      if (cfg.getNormalizePixelTarget()) {
        Operand<TFloat32> mean = tf.math.mean(patches, tf.constant(-1), Mean.keepDims(true));
        Operand<TFloat32> std = tf.math.sqrt(tf.math.add(Losses.unbiasedVariance(tf, patches), tf.constant(1e-6f)));
        shown = tf.math.add(tf.math.mul(pred, std), mean);
      }
      b.image("reconstruction", tf.clipByValue(Patches.unpatchify(tf, tf.reshape(shown, tf.constant(new int[] {-1,
          vit.numPatches(), pd})), vit.imageSize(), vit.patchSize(), vit.channels()), tf.constant(0f),
          tf.constant(1f)));
    }
    return b.build();
  }

  /**
   * The reconstruction loss over all elements of [B, N, C]: Smooth-L1 with threshold β (PyTorch's
   * {@code SmoothL1Loss(beta)}: 0.5·d²/β below β, |d| − 0.5·β above), MSE, or the mean cosine distance
   * per token.
   */
  static Operand<TFloat32> reconstructionLoss(Ops tf, Operand<TFloat32> pred, Operand<TFloat32> target,
      SmrConfig.Loss kind, float beta) {
    Operand<TInt32> all = tf.constant(new int[] {0, 1, 2});
    return switch (kind) {
      case SMOOTH_L1 -> {
        Operand<TFloat32> ad = tf.math.abs(tf.math.sub(pred, target));
        Operand<TFloat32> q = tf.math.minimum(ad, tf.constant(beta));
        // q = min(|d|, β): 0.5·q²/β + (|d| − q) is 0.5·d²/β below β and |d| − 0.5·β above
        yield tf.math.mean(tf.math.add(tf.math.div(tf.math.mul(tf.constant(0.5f), tf.math.square(q)),
            tf.constant(beta)), tf.math.sub(ad, q)), all);
      }
      case MSE -> tf.math.mean(tf.math.squaredDifference(pred, target), all);
      case COSINE -> tf.math.sub(tf.constant(1f), tf.math.mean(cosine(tf, pred, target),
          tf.constant(new int[] {0, 1})));
    };
  }

  /** Cosine similarity per token, [B, N]. */
  static Operand<TFloat32> cosine(Ops tf, Operand<TFloat32> a, Operand<TFloat32> b) {
    Operand<TInt32> last = tf.constant(-1);
    Operand<TFloat32> dot = tf.sum(tf.math.mul(a, b), last);
    Operand<TFloat32> na = tf.math.sqrt(tf.math.add(tf.sum(tf.math.square(a), last), tf.constant(1e-12f)));
    Operand<TFloat32> nb = tf.math.sqrt(tf.math.add(tf.sum(tf.math.square(b), last), tf.constant(1e-12f)));
    return tf.math.div(dot, tf.math.mul(na, nb));
  }

  /** The plain encoder (every compression removed, smr.md §8). */
  @Override
  public EncoderSpec encoder() {
    return new EncoderSpec(vit, "encoder");
  }

  public TokenCompression.Config compression() {
    return compression;
  }
}
