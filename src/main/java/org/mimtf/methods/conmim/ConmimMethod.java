package org.mimtf.methods.conmim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.mimtf.api.EncoderSpec;
import org.mimtf.api.Losses;
import org.mimtf.api.MimMethod;
import org.mimtf.api.Schedule;
import org.mimtf.api.StepInputs;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.config.proto.ConmimConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Ema;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.Patches;
import org.mimtf.nn.ProjectionHead;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.train.Schedules;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Sum;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * ConMIM (Yi et al., ICLR 2023; conmim.md): masked image modeling as denoising patch contrast. No
 * tokenizer: the dictionary of each image is built on the fly by a momentum copy of the network.
 * <ul>
 *   <li>online network: the weak view (crop + flip) with the mask token at the masked positions →
 *       BEiT ViT (shared relative bias, layer scale) → final LayerNorm → 3-layer BN projector on every
 *       token (CLS included) → queries q [B, N, C];
 *   <li>momentum network: the same architecture and projector, initialised as an exact copy, no
 *       gradient, EMA of the online weights after every optimizer step with m rising from 0.996 to 1
 *       on a cosine; it embeds the strong view (same crop and flip + colour jitter, grayscale, blur,
 *       solarisation), unmasked → keys k [B, N, C];
 *   <li>loss, per image (Eq. 3): for each masked position j,
 *       {@code −log softmax_i(⟨q̂_j, k̂_i⟩ / τ)[j]} over the N keys of the SAME image (keys at visible
 *       positions included, no keys from other images), averaged over the masked positions.
 * </ul>
 * Both projectors' BatchNorms use batch statistics (the official code never switches the momentum
 * model to eval mode), over all B·(N+1) token rows of the GLOBAL batch: with several towers the
 * projector runs on each tower's rows but normalises with moments summed over the towers
 * ({@link ProjectionHead#applyAcross}), which is why this method {@link #couplesTowers}: the loss of
 * tower i depends on tower j's tokens through those moments, and the trainer differentiates the
 * towers' mean loss in one piece. (The official code, plain BatchNorm under DDP without
 * SyncBatchNorm, normalises per GPU instead; we follow the global-batch definition, which
 * also makes N towers train exactly like one device.)
 *
 * <p>Batch fields: the views {@code conmim.online_view} and {@code conmim.momentum_view} [B, H, W, C]
 * in [0, 1] sharing crop and flip, {@code mask} [B, N] (random in units, fixed count). Logged: the
 * loss ({@code contrast}), the top-1 accuracy of the position match on masked positions
 * ({@code match_acc}), the momentum and the cosine similarity of online and momentum weights
 * ({@code weight_cosine}). The momentum encoder is exported (the one the authors fine-tune), or the
 * online one with {@code conmim.export_encoder: ONLINE}.
 */
public final class ConmimMethod implements MimMethod {
  /** The scheduled scalar: momentum m of this step. */
  public static final String MOMENTUM = "teacher_momentum";
  private final Recipe recipe;
  private final ConmimConfig cfg;
  private final VitConfig vit;
  private VisionTransformer encoder;
  private ProjectionHead projector;
  private VisionTransformer momentumEncoder;
  private ProjectionHead momentumProjector;
  private Ema ema;

  public ConmimMethod(Recipe recipe) {
    this.recipe = recipe;
    this.cfg = recipe.getConmim();
    this.vit = VitConfig.from(recipe.getModel());
  }

  @Override
  public String name() {
    return "conmim";
  }

  @Override
  public void create(Ops tf, ParamStore ps) {
    ConmimConfig.Projector p = cfg.getProjector();
    encoder = VisionTransformer.create(ps, tf.withSubScope("encoder"), vit, true);
    projector = ProjectionHead.create(ps, tf.withSubScope("projector"), vit.width(), p.getHiddenDim(),
        p.getOutputDim(), p.getNumLayers(), p.getBatchNormEps(), encoder.initScheme(), vit.depth() + 1);
    // The momentum network: same builders, drawn with the online network's seeds (an exact copy at
    // start, conmim.md §9), frozen. It needs no mask token (it never sees a mask).
    ps.aliasSeeds("momentum/encoder/", "encoder/");
    ps.aliasSeeds("momentum/projector/", "projector/");
    ps.freeze("momentum/");
    Ops m = tf.withSubScope("momentum");
    momentumEncoder = VisionTransformer.create(ps, m.withSubScope("encoder"), vit, false);
    momentumProjector = ProjectionHead.create(ps, m.withSubScope("projector"), vit.width(), p.getHiddenDim(),
        p.getOutputDim(), p.getNumLayers(), p.getBatchNormEps(), momentumEncoder.initScheme(), vit.depth() + 1);
    // Every momentum parameter (encoder and projector) follows its online twin "<name>" from
    // "momentum/<name>"; BatchNorm has no buffers to copy (no running statistics are kept).
    ema = Ema.between(ps, "", "momentum/");
  }

  @Override
  public boolean couplesTowers() {
    return true;
  }

  @Override
  public TowerOutput tower(Ops tf, Compute c, TowerInputs in) {
    Operand<TFloat32> weak = in.floats(cfg.getOnlineView());
    Operand<TFloat32> strong = in.floats(cfg.getMomentumView());
    Operand<TBool> mask = in.bools("mask");
    Operand<TInt64> seed = in.step().dropSeed();
    VisionTransformer.Output online = encoder.forward(tf, c, weak,
        VisionTransformer.Inputs.none().mask(mask).dropSeed(seed));
    // The momentum model stays in training mode in the official code (drop path included, when the
    // recipe has any); its own draws.
    Operand<TInt64> momentumSeed = seed == null ? null : tf.math.add(seed, tf.constant(new long[] {0x5eedL, 0}));
    VisionTransformer.Output mom = momentumEncoder.forward(tf, c, strong,
        VisionTransformer.Inputs.none().dropSeed(momentumSeed));
    int d = vit.width();
    return TowerOutput.builder(null)
        .state("online_tokens", tf.reshape(online.normed(), tf.constant(new int[] {-1, d})))
        .state("momentum_tokens", tf.stopGradient(tf.reshape(mom.normed(), tf.constant(new int[] {-1, d}))))
        .state("mask", mask)
        .image("online_view", weak)
        .image("momentum_view", strong)
        .image("masked_input", maskedView(tf, weak, mask))
        .build();
  }

  /**
   * The projectors and the loss of every tower. The projector's BatchNorm statistics are those of
   * the GLOBAL batch — every tower's B_i·(N+1) token rows — which is where the towers meet: each
   * tower adds its rows' moments, the sums are shared, and each tower normalises with them.
   */
  @Override
  @SuppressWarnings("unchecked")
  public List<TowerOutput> joinTowers(Ops global, List<Ops> towers, Compute c, StepInputs step,
      List<TowerOutput> forward) {
    List<Operand<TFloat32>> onlineRows = new ArrayList<>();
    List<Operand<TFloat32>> momentumRows = new ArrayList<>();
    for (TowerOutput f : forward) {
      onlineRows.add((Operand<TFloat32>) f.state().get("online_tokens"));
      momentumRows.add((Operand<TFloat32>) f.state().get("momentum_tokens"));
    }
    List<Operand<TFloat32>> q = projector.applyAcross(global, towers, c, onlineRows);
    List<Operand<TFloat32>> k = momentumProjector.applyAcross(global, towers, c, momentumRows);
    Operand<TFloat32> cosine = ema.cosine(global);
    Operand<TFloat32> momentum = global.identity(step.scalar(MOMENTUM)); // a fed value cannot be fetched
    int t = vit.numPatches() + 1;
    int out = cfg.getProjector().getOutputDim();
    List<TowerOutput> done = new ArrayList<>();
    for (int i = 0; i < forward.size(); i++) {
      Ops tf = towers.get(i);
      Operand<TFloat32> qi = VisionTransformer.dropCls(tf, tf.reshape(q.get(i), tf.constant(new int[] {-1, t, out})));
      Operand<TFloat32> ki = tf.stopGradient(VisionTransformer.dropCls(tf,
          tf.reshape(k.get(i), tf.constant(new int[] {-1, t, out}))));
      Contrast r = contrast(tf, c, qi, ki, (Operand<TBool>) forward.get(i).state().get("mask"),
          cfg.getTemperature(), vit.numPatches());
      // The weight cosine reads the variables in place: make the loss (and so the optimizer step)
      // wait for it, so it is the similarity before this step's updates.
      Operand<TFloat32> loss = tf.withControlDependencies(List.of(cosine)).identity(r.loss());
      TowerOutput.Builder b = TowerOutput.builder(loss).term("contrast", r.loss())
          .metric("match_acc", r.accuracy()).metric("momentum", momentum).metric("weight_cosine", cosine);
      forward.get(i).images().forEach(b::image);
      done.add(b.build());
    }
    return done;
  }

  /** The loss, the top-1 accuracy of the position match, and the masked rows' logits [M, N]. */
  public record Contrast(Operand<TFloat32> loss, Operand<TFloat32> accuracy, Operand<TFloat32> logits) {}

  /**
   * The intra-image patch contrast (paper Eq. 3; engine_for_pretraining.py): queries {@code q} and
   * keys {@code k} [B, N, C] are L2-normalised along C, {@code S = q̂ k̂ᵀ / τ} per image [B, N, N];
   * the rows of masked positions (row j's label is j, its own position) enter a cross-entropy,
   * averaged over all masked rows of the batch. Keys come from all N positions of the same image.
   */
  public static Contrast contrast(Ops tf, Compute c, Operand<TFloat32> q, Operand<TFloat32> k, Operand<TBool> mask,
      float temperature, int n) {
    Operand<TFloat32> s = tf.math.div(c.batchMatMul(tf, l2normalize(tf, q), l2normalize(tf, k), false, true),
        tf.constant(temperature));
    Operand<TInt64> where = tf.where(mask); // [M, 2] = (image, position), row-major
    Operand<TFloat32> rows = tf.gatherNd(s, where);
    Operand<TInt32> labels = tf.dtypes.cast(tf.reshape(tf.slice(where, tf.constant(new int[] {0, 1}),
        tf.constant(new int[] {-1, 1})), tf.constant(new int[] {-1})), TInt32.class);
    Operand<TFloat32> loss = Losses.crossEntropy(tf, rows, labels, n);
    Operand<TFloat32> acc = tf.math.mean(tf.dtypes.cast(tf.math.equal(
        tf.math.argMax(rows, tf.constant(1), TInt32.class), labels), TFloat32.class), tf.constant(0));
    return new Contrast(loss, acc, rows);
  }

  /** {@code x / max(‖x‖₂, 1e-12)} along the last axis (PyTorch's F.normalize). */
  static Operand<TFloat32> l2normalize(Ops tf, Operand<TFloat32> x) {
    Operand<TFloat32> ss = tf.sum(tf.math.square(x), tf.constant(-1), Sum.keepDims(true));
    return tf.math.mul(x, tf.math.rsqrt(tf.math.maximum(ss, tf.constant(1e-24f))));
  }

  /** The online view with masked patches drawn mid-grey (TensorBoard). */
  private Operand<TFloat32> maskedView(Ops tf, Operand<TFloat32> view, Operand<TBool> mask) {
    Operand<TFloat32> patches = Patches.patchify(tf, view, vit.imageSize(), vit.patchSize(), vit.channels());
    Operand<TFloat32> shown = tf.select(tf.broadcastTo(tf.expandDims(mask, tf.constant(-1)), tf.shape(patches)),
        tf.fill(tf.shape(patches), tf.constant(0.5f)), patches);
    return Patches.unpatchify(tf, shown, vit.imageSize(), vit.patchSize(), vit.channels());
  }

  /** After the optimizer step: θ_m ← m·θ_m + (1 − m)·θ for every momentum parameter. */
  @Override
  public List<Op> afterUpdate(Ops tf, StepInputs step, List<TowerOutput> towers) {
    // Once per step, whatever the number of towers: the parameters exist once.
    return List.of(ema.update(tf, step.scalar(MOMENTUM)));
  }

  /** {@code m_it = 1 + ½(m0 − 1)(1 + cos(π·it/T))} with m0 = teacher_momentum, end teacher_momentum_end. */
  @Override
  public Map<String, Schedule> scalarSchedules(long totalSteps) {
    return Map.of(MOMENTUM, Schedules.momentum(decimal(cfg.getTeacherMomentum()),
        decimal(cfg.getTeacherMomentumEnd()), totalSteps));
  }

  /** A recipe float as the decimal it was written as (0.996f → 0.996, not 0.99599999189). */
  private static double decimal(float f) {
    return Double.parseDouble(Float.toString(f));
  }

  @Override
  public EncoderSpec encoder() {
    return new ConmimSpec().encoder(recipe);
  }

  /** The EMA pairs (online → momentum), for tests. */
  public Ema ema() {
    return ema;
  }
}
