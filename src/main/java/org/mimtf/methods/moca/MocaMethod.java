package org.mimtf.methods.moca;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.mimtf.api.EncoderSpec;
import org.mimtf.api.MimMethod;
import org.mimtf.api.Schedule;
import org.mimtf.api.StepInputs;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.config.proto.ComplementaryMasking;
import org.mimtf.config.proto.MocaConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Ema;
import org.mimtf.nn.InitScheme;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.Patches;
import org.mimtf.nn.VisibleTokens;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.train.Schedules;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Gather;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * MOCA (Gidaris et al., "MOCA: Self-supervised Representation Learning by Predicting Masked Online
 * Codebook Assignments"; moca.md; valeoai/MOCA {@code models_moca.py}).
 *
 * <p>An EMA teacher sees two unmasked, independently augmented views and soft-assigns its patch tokens
 * to an online codebook (a FIFO queue of past teacher tokens, {@link OnlineCodebook}), giving per-token
 * assignments q_T and, pooled over the interior of the grid, a bag of words y_T per view. The student
 * sees only visible tokens, in two complementary masking rounds per view, and predicts
 * <ul>
 *   <li>{@code L_IMG}: from its [AVG] token, the <em>other</em> view's bag of words (the student's view 1
 *       is paired with the teacher's view 2), with weights generated from the codebook by G_b;
 *   <li>{@code L_LOC}: through the {@link CondenserDecoder} (block-ℓ tokens + [AVG]), the same view's
 *       per-token assignments at the visible and the partially decoded masked positions, with
 *       weights from G_d;
 * </ul>
 * {@code L = λ·L_IMG + (1 − λ)·L_LOC}, each term being the per-round KL (batch mean) summed over the
 * two rounds, i.e. 2 × their mean (moca.md §5.3-§5.5). The exported encoder is the teacher
 * ({@code teacher/encoder}), the one the authors evaluate and release.
 *
 * <h2>Order of one step in one session run</h2>
 * The official code does, per step: (1) the EMA update of the teacher from the student as left by the
 * previous step's optimizer update; (2) teacher forward and targets, with a snapshot Ĉ of the codebook;
 * (3) μ updated twice (views 1 and 2) while the temperature uses μ_prev; (4) the queue update, then
 * μ_prev ← μ; (5) the student's losses against those targets, backward, optimizer update. A static
 * graph has no statement order, so this class builds that order from dependencies, all inside the one
 * session run of {@code StepGraph}'s train op:
 * <ol>
 *   <li>{@link #beforeTowers} (once per graph, outside the tower scopes) builds the EMA update op and a
 *       second instance of the teacher ViT over the same variables through
 *       {@link ParamStore#rebind}, whose every parameter read is an {@code Identity} of the variable
 *       <b>with a control dependency on the EMA update</b>. The teacher forward, hence the targets,
 *       the losses and every gradient, can only run after the EMA: step (1) before (2). The EMA reads
 *       the student before the optimizer, which waits for every gradient: the teacher of step t holds
 *       the student of step t − 1, as in the code. With gradient accumulation the EMA applies on the
 *       first micro-batch of a step only ({@code teacher/ema_step} remembers the step it was applied
 *       for), so there is one EMA update per optimizer step.
 *   <li>The codebook, μ and μ_prev are read by the towers (targets, temperature, generators): those
 *       reads feed the losses, so they complete before the gradients, the optimizer and so before
 *       {@link #afterUpdate}, whose writes additionally wait, through control dependencies, for every
 *       loss, metric and state output of every tower (metrics are not on the gradient path). Targets
 *       thus use Ĉ and μ_prev as they were at the start of the step: steps (2)-(3).
 *   <li>{@link #afterUpdate} (after the optimizer) writes the K_new new words at the queue pointer, then
 *       advances it, and sets μ to its value after the two EMA updates and μ_prev to the same value:
 *       step (4). (μ itself is read nowhere else, so its update may follow the queue's without changing
 *       any result.)
 * </ol>
 *
 * <h2>Towers</h2>
 * Batch-level statistics must be those of the global batch and per-step state must change once:
 * <ul>
 *   <li>μ_batch: each tower emits its per-view means (state {@code mu_batch}); {@link #afterUpdate}
 *       averages them (equal tower sizes), which is the global mean (the code all-reduces it);
 *   <li>the queue: the K_new words are drawn uniformly among the <em>global</em> batch's images. Each
 *       image gets a random key that depends only on its global index (stateless RNG of the step seed),
 *       each tower proposes its K_new smallest keys and their words (state {@code new_words}), and
 *       {@link #afterUpdate} keeps the K_new smallest overall: the same words whatever the tower
 *       count, and only K_new·towers rows cross devices;
 *   <li>the generators' BatchNorm normalises over the codebook rows, which no tower owns: the
 *       generators run once per step in {@link #beforeTowers}, shared by all towers;
 *   <li>the EMA update and the teacher reads gated on it are built once in {@link #beforeTowers}: one
 *       EMA per step however many towers read the teacher.
 * </ul>
 *
 * <p>Batch fields: the two views (moca.first_view, moca.second_view) [B, H, W, C] in [0, 1], and the
 * complementary orders {@code order1}, {@code order2} int32 [B, views, N] (copy 0 for the first view,
 * copy 1 for the second; moca.md §5.1).
 */
public final class MocaMethod implements MimMethod {
  /** The scheduled teacher momentum (0.994 → 1 on a cosine, as the code). */
  public static final String MOMENTUM = "teacher_momentum";
  private static final long SALT_VIEW = 0x4D4F4341_01L;
  private static final long SALT_KEYS = 0x4D4F4341_02L;
  private static final long SALT_TOKEN = 0x4D4F4341_03L;
  private static final long SALT_ROUND2 = 0x4D4F4341_04L;
  private static final long SALT_PREFILL = 0x4D4F4341_05L;

  private final Recipe recipe;
  private final MocaConfig cfg;
  private final VitConfig vit;
  private final int n;
  private final int grid;
  private final int keep1;
  private final int keep2;
  private final int predicted;
  private final int k;
  private final int knew;
  private final int decWidth;
  private final int[] interior;
  private final String firstView;
  private final String secondView;

  private ParamStore ps;
  private VisionTransformer student;
  private Variable<TInt64> emaStep;
  private CondenserDecoder decoder;
  private WeightGenerator genImg;
  private WeightGenerator genLoc;
  private OnlineCodebook codebook;
  private VisionTransformer teacherPlain;
  private Shared shared;
  private TowerParts lastTower;

  /** The once-per-step part every tower reads, built by {@link #beforeTowers}. */
  record Shared(VisionTransformer teacher, Op ema, Operand<TFloat32> momentum, Operand<TFloat32> words,
      Operand<TFloat32> muPrev, Operand<TFloat32> wImg, Operand<TFloat32> wLoc, Operand<TFloat32> fill,
      Operand<TFloat32> diversity) {}

  public MocaMethod(Recipe recipe) {
    checkArgument(recipe.hasMoca(), "not a moca recipe");
    this.recipe = recipe;
    this.cfg = recipe.getMoca();
    this.vit = VitConfig.from(recipe.getModel());
    this.grid = vit.grid();
    this.n = vit.numPatches();
    // the resolver's counts, which the pipeline's complementary masks use too
    ComplementaryMasking counts = recipe.getMasking().getComplementary();
    checkArgument(counts.getNumVisibleFirst() > 0, "the recipe is not resolved (no masking.complementary counts)");
    this.keep1 = counts.getNumVisibleFirst();
    this.keep2 = counts.getNumVisibleSecond();
    this.predicted = counts.getNumPredicted();
    this.k = cfg.getNumWords();
    this.knew = cfg.getNumNewWords();
    this.decWidth = cfg.getDecoder().getWidth() > 0 ? cfg.getDecoder().getWidth() : vit.width();
    this.interior = OnlineCodebook.interior(grid, cfg.getBorder());
    this.firstView = cfg.getFirstView();
    this.secondView = cfg.getSecondView();
  }

  @Override
  public String name() {
    return "moca";
  }

  /** Visible tokens per round and the masked tokens both rounds decode: {keep1, keep2, P}. */
  public int[] tokenCounts() {
    return new int[] {keep1, keep2, predicted};
  }

  /** The bag of words' token indices (border excluded). */
  public int[] interior() {
    return interior.clone();
  }

  OnlineCodebook codebook() {
    return codebook;
  }

  Shared shared() {
    return shared;
  }

  Variable<TInt64> emaStep() {
    return emaStep;
  }

  /** The student encoder (scope {@code encoder}). */
  VisionTransformer student() {
    return student;
  }

  /** The teacher over plain (ungated) reads: for probes outside a training step. */
  VisionTransformer teacherPlain() {
    return teacherPlain;
  }

  /** The parts of the last tower built (tests look inside). */
  TowerParts lastTower() {
    return lastTower;
  }

  /** Intermediate results of one tower. */
  record TowerParts(Operand<TFloat32> teacherFeatures, OnlineCodebook.Assignment assignment, Round round1,
      Round round2, Candidates candidates, Operand<TFloat32> loss) {}

  @Override
  public void create(Ops tf, ParamStore params) {
    this.ps = params;
    this.shared = null;
    int d = vit.width();
    student = VisionTransformer.create(params, tf.withSubScope("encoder"), vit, false);
    // The teacher starts as an exact copy of the student and never receives gradients.
    params.aliasSeeds("teacher/encoder/", "encoder/");
    params.freeze("teacher/");
    Ops t = tf.withSubScope("teacher");
    teacherPlain = VisionTransformer.create(params, t.withSubScope("encoder"), vit, false);
    emaStep = t.withName("ema_step").variable(Shape.scalar(), TInt64.class);
    t.withInitScope().withName("ema_step_init").assign(emaStep, t.withInitScope().constant(-1L));

    Ops heads = tf.withSubScope("heads");
    InitScheme init = student.initScheme();
    int headLayer = vit.depth() + 1;
    var dc = cfg.getDecoder();
    int heads0 = dc.getNumHeads() > 0 ? dc.getNumHeads() : vit.numHeads();
    decoder = CondenserDecoder.create(params, heads.withSubScope("decoder"), d, decWidth, dc.getDepth(), heads0,
        Math.round(dc.getMlpRatio() * decWidth), grid, vit.layerNormEps(), init, headLayer);
    int hidden = Math.round(cfg.getGeneratorHiddenRatio() * d);
    genImg = WeightGenerator.create(params, heads.withSubScope("generator_img"), d, hidden, d, init, headLayer);
    genLoc = WeightGenerator.create(params, heads.withSubScope("generator_loc"), d, hidden, decWidth, init,
        headLayer);
    // Code only (--lr_wgen): the generators train at a constant 1e-4 with the initial weight decay.
    params.fixHyper("heads/generator_", cfg.getGeneratorLr(), recipe.getOptimizer().getWeightDecay());
    codebook = OnlineCodebook.create(params, tf.withSubScope("codebook"), k, d, cfg.getMuInit());
  }

  @Override
  public void beforeTowers(Ops tf, Compute c, StepInputs step) {
    Ops s = tf.withSubScope("moca");
    // (1) The EMA update, once per optimizer step (first micro-batch only under accumulation).
    Operand<TInt64> stepNow = step.step();
    Operand<TBool> first = s.math.notEqual(s.identity(emaStep), stepNow);
    Operand<TFloat32> m = s.select(first, step.scalar(MOMENTUM), s.constant(1f));
    Op ema = Ema.between(ps, "encoder/", "teacher/encoder/").update(s.withSubScope("ema"), m);
    Op done = s.withControlDependencies(List.of(ema)).withName("ema_done").assign(emaStep, stepNow);
    List<Op> afterEma = List.of(ema, done);
    // (2) The teacher as the forward pass sees it: every read waits for the EMA update.
    ParamStore view = ps.rebind("teacher/encoder/", (t, name, p) ->
        t.withControlDependencies(afterEma).withName(name + "_after_ema").identity(p.variable()));
    VisionTransformer teacher = VisionTransformer.create(view, s.withSubScope("teacher"), vit, false);
    view.checkRebound();
    // (3) This step's codebook Ĉ (read before afterUpdate's write) and the generated weights, once
    // for all towers (their BatchNorm runs over the K codebook rows).
    // Copies, not aliases: an Identity read of a ref variable shares its buffer, so a fetched read
    // would show the value after afterUpdate's in-place writes.
    // The codebook is a buffer: no gradient flows into it (stop-gradient; it is not trained either).
    Operand<TFloat32> words = s.stopGradient(s.withName("codebook_snapshot").snapshot(codebook.words()));
    Operand<TFloat32> muPrev = s.withName("mu_prev_snapshot").snapshot(codebook.muPrev());
    Operand<TFloat32> wImg = genImg.apply(s.withSubScope("generator_img"), c, words);
    Operand<TFloat32> wLoc = genLoc.apply(s.withSubScope("generator_loc"), c, words);
    shared = new Shared(teacher, ema, s.withName("momentum").identity(step.scalar(MOMENTUM)), words, muPrev, wImg, wLoc, codebook.fill(s),
        OnlineCodebook.diversity(s, words));
  }

  @Override
  public TowerOutput tower(Ops tf, Compute c, TowerInputs in) {
    checkState(shared != null, "MocaMethod.beforeTowers must run before tower()");
    Shared sh = shared;
    Operand<TFloat32> x1 = in.floats(firstView);
    Operand<TFloat32> x2 = in.floats(secondView);
    Operand<TFloat32> images = tf.concat(List.of(x1, x2), tf.constant(0));

    // Teacher on both unmasked views (its reads wait for the EMA update).
    VisionTransformer.Output tOut = sh.teacher().forward(tf, c, images, VisionTransformer.Inputs.none());
    Operand<TFloat32> feats = tf.stopGradient(tOut.patchTokens(tf));
    OnlineCodebook.Assignment a = OnlineCodebook.assign(tf, c, feats, sh.words(), sh.muPrev(), cfg.getInvDelta(),
        interior);
    // The student's view-1 rows predict the teacher's view-2 bag of words and vice versa.
    Operand<TFloat32> crossBows = swapHalves(tf, a.bows());

    // Student: two complementary rounds over both views.
    Operand<TInt32> order1 = bothViews(tf, in.ints("order1"));
    Operand<TInt32> order2 = bothViews(tf, in.ints("order2"));
    Operand<TInt64> seed = in.step().dropSeed();
    Round r1 = round(tf, c, images, order1, keep1, a, crossBows, sh, seed);
    Operand<TInt64> seed2 = seed == null ? null : tf.math.add(seed, tf.constant(new long[] {SALT_ROUND2, 0}));
    Round r2 = round(tf, c, images, order2, keep2, a, crossBows, sh, seed2);
    // 2 × the mean over rounds (moca.md §5.3, §5.4).
    Operand<TFloat32> img = tf.math.add(r1.img(), r2.img());
    Operand<TFloat32> loc = tf.math.add(r1.loc(), r2.loc());
    float lambda = cfg.getImgLossWeight();
    Operand<TFloat32> loss = tf.math.add(tf.math.mul(tf.constant(lambda), img),
        tf.math.mul(tf.constant(1f - lambda), loc));

    Candidates cand = candidates(tf, a.unit(), x1, in);
    lastTower = new TowerParts(feats, a, r1, r2, cand, loss);
    Operand<TFloat32> meanBow = tf.math.mean(a.bows(), tf.constant(0));
    Operand<TFloat32> bowPerplexity = tf.math.exp(tf.math.neg(tf.sum(OnlineCodebook.plogp(tf, meanBow),
        tf.constant(0))));
    Operand<TInt32> vis1 = VisibleTokens.slice(tf, VisibleTokens.copy(tf, in.ints("order1"), 0), 0, keep1);
    Operand<TInt32> vis2 = VisibleTokens.slice(tf, VisibleTokens.copy(tf, in.ints("order2"), 0), 0, keep2);
    return TowerOutput.builder(loss)
        .term("img_loss", img)
        .term("loc_loss", loc)
        .metric("mu", sh.muPrev())
        .metric("mu_batch", tf.math.mean(a.muBatch(), tf.constant(0)))
        .metric("teacher_temperature", tf.math.div(sh.muPrev(), tf.constant(cfg.getInvDelta())))
        .metric("teacher_momentum", sh.momentum())
        .metric("teacher_entropy", a.entropy())
        .metric("bow_perplexity", bowPerplexity)
        .metric("codebook_fill", sh.fill())
        .metric("codebook_diversity", sh.diversity())
        .image("view1", x1)
        .image("view2", x2)
        .image("view1_round1_visible", showVisible(tf, x1, vis1))
        .image("view1_round2_visible", showVisible(tf, x1, vis2))
        .state("mu_batch", a.muBatch())
        .state("new_words", cand.words())
        .state("new_word_keys", cand.keys())
        .state("same_view_codes", a.codes())
        .state("cross_view_bows", crossBows)
        .state("prefill_words", cfg.getPrefillCodebook() ? prefillWords(tf, a.unit(), in) : tf.constant(0f))
        .build();
  }

  /** One masking round's losses. */
  record Round(Operand<TFloat32> img, Operand<TFloat32> loc, Operand<TInt32> visible, Operand<TInt32> decodedIdx,
      VisionTransformer.Output encoder, Operand<TFloat32> decoded, Operand<TFloat32> targets) {}

  private Round round(Ops tf, Compute c, Operand<TFloat32> images, Operand<TInt32> order, int keep,
      OnlineCodebook.Assignment a, Operand<TFloat32> crossBows, Shared sh, Operand<TInt64> seed) {
    float kappa = cfg.getKappa();
    Operand<TInt32> visible = VisibleTokens.slice(tf, order, 0, keep);
    Operand<TInt32> decodedIdx = VisibleTokens.slice(tf, order, 0, keep + predicted);
    VisionTransformer.Output o = student.forward(tf, c, images,
        VisionTransformer.Inputs.none().keep(visible).dropSeed(seed));
    Operand<TFloat32> avg = o.avgPool(tf);
    // L_IMG: κ·[AVG]·W_bᵀ against the other view's bag of words.
    Operand<TFloat32> imgLogits = tf.math.mul(tf.constant(kappa), c.matMul(tf, avg, sh.wImg(), false, true));
    Operand<TFloat32> img = kl(tf, crossBows, imgLogits);
    // L_LOC: the condenser decodes the visible and the P predicted masked tokens of the same view.
    Operand<TFloat32> inter = o.blockOutputs().get(cfg.getEarlyLayer() - 1);
    Operand<TFloat32> dec = decoder.apply(tf, c, avg, inter, decodedIdx);
    Operand<TFloat32> rows = tf.reshape(dec, tf.constant(new long[] {-1, decWidth}));
    Operand<TFloat32> locLogits = tf.math.mul(tf.constant(kappa), c.matMul(tf, rows, sh.wLoc(), false, true));
    Operand<TFloat32> targets = tf.reshape(VisibleTokens.gather(tf, a.codes(), decodedIdx),
        tf.constant(new long[] {-1, k}));
    Operand<TFloat32> loc = kl(tf, targets, locLogits);
    return new Round(img, loc, visible, decodedIdx, o, dec, targets);
  }

  /**
   * KL(target ‖ softmax(logits)) summed over the last axis and averaged over rows (PyTorch's
   * {@code kl_div(log_softmax(logits), target, reduction="batchmean")}); its gradient is the soft
   * cross-entropy's.
   */
  static Operand<TFloat32> kl(Ops tf, Operand<TFloat32> target, Operand<TFloat32> logits) {
    Operand<TFloat32> t = tf.stopGradient(target);
    Operand<TFloat32> ce = tf.nn.softmaxCrossEntropyWithLogits(logits, t).loss();
    Operand<TFloat32> negEntropy = tf.sum(OnlineCodebook.plogp(tf, t), tf.constant(-1));
    return tf.math.mean(tf.math.add(ce, negEntropy), tf.constant(0));
  }

  /** [2B, ...] with the halves exchanged: rows of view 2 first. */
  static Operand<TFloat32> swapHalves(Ops tf, Operand<TFloat32> x) {
    var parts = tf.split(tf.constant(0), x, 2L);
    return tf.concat(List.of(parts.output().get(1), parts.output().get(0)), tf.constant(0));
  }

  /** An order field [B, copies, N] as [2B, N]: copy 0 (first view) for the first B rows, copy 1 after. */
  static Operand<TInt32> bothViews(Ops tf, Operand<TInt32> orders) {
    checkArgument(orders.shape().get(1) >= 2, "moca needs two order copies (one per view), got %s", orders.shape());
    return tf.concat(List.of(VisibleTokens.copy(tf, orders, 0), VisibleTokens.copy(tf, orders, 1)), tf.constant(0));
  }

  /** A tower's proposal for the queue: its K_new images with the smallest global keys. */
  record Candidates(Operand<TFloat32> words, Operand<TFloat32> keys) {}

  /**
   * One view for the whole step (p ½), per image a key and an interior token, all from the step seed and
   * the image's <em>global</em> index; returns this tower's K_new smallest keys and their unit words.
   */
  private Candidates candidates(Ops tf, Operand<TFloat32> unit, Operand<TFloat32> x1, TowerInputs in) {
    Operand<TInt64> seed = in.step().seed();
    int t = in.towerIndex();
    Operand<TInt32> b = tf.reshape(tf.slice(tf.shape(x1), tf.constant(new int[] {0}), tf.constant(new int[] {1})),
        tf.constant(new int[0]));
    Operand<TFloat32> u = tf.random.statelessRandomUniform(tf.constant(new int[] {1}),
        tf.math.add(seed, tf.constant(new long[] {SALT_VIEW, 0})), TFloat32.class);
    Operand<TInt32> v = tf.reshape(tf.dtypes.cast(tf.math.greaterEqual(u, tf.constant(0.5f)), TInt32.class),
        tf.constant(new int[0]));
    // Keys and tokens of global images [0, (t+1)·b): a stateless draw of a longer shape extends a
    // shorter one, so image i gets the same values whatever the tower count.
    Operand<TInt32> upTo = tf.reshape(tf.math.mul(b, tf.constant(t + 1)), tf.constant(new int[] {1}));
    Operand<TInt32> begin = tf.reshape(tf.math.mul(b, tf.constant(t)), tf.constant(new int[] {1}));
    Operand<TInt32> size = tf.reshape(b, tf.constant(new int[] {1}));
    Operand<TFloat32> keys = tf.slice(tf.random.statelessRandomUniform(upTo,
        tf.math.add(seed, tf.constant(new long[] {SALT_KEYS, 0})), TFloat32.class), begin, size);
    Operand<TInt32> tok = tf.slice(tf.random.statelessRandomUniformInt(upTo,
        tf.math.add(seed, tf.constant(new long[] {SALT_TOKEN, 0})), tf.constant(0), tf.constant(interior.length)),
        begin, size);
    Operand<TInt32> rows = tf.math.add(tf.math.mul(v, b), tf.range(tf.constant(0), b, tf.constant(1)));
    Operand<TFloat32> viewFeats = tf.gather(unit, rows, tf.constant(0));
    Operand<TInt32> pos = tf.expandDims(tf.gather(tf.constant(interior), tok, tf.constant(0)), tf.constant(1));
    Operand<TFloat32> picked = tf.reshape(tf.gather(viewFeats, pos, tf.constant(1), Gather.batchDims(1L)),
        tf.constant(new long[] {-1, vit.width()}));
    var top = tf.nn.topK(tf.math.neg(keys), tf.constant(knew), TInt32.class);
    return new Candidates(tf.gather(picked, top.indices(), tf.constant(0)),
        tf.gather(keys, top.indices(), tf.constant(0)));
  }

  /**
   * K distinct interior teacher tokens of this tower's batch (both views), chosen by the K smallest
   * stateless keys of the step seed: the words {@code moca.prefill_codebook} writes at the first step.
   */
  private Operand<TFloat32> prefillWords(Ops tf, Operand<TFloat32> unit, TowerInputs in) {
    Operand<TFloat32> inner = tf.reshape(tf.gather(unit, tf.constant(interior), tf.constant(1)),
        tf.constant(new long[] {-1, vit.width()}));
    Operand<TInt32> rows = tf.reshape(tf.slice(tf.shape(inner), tf.constant(new int[] {0}), tf.constant(new int[] {1})),
        tf.constant(new int[] {1}));
    Operand<TFloat32> keys = tf.random.statelessRandomUniform(rows,
        tf.math.add(in.step().seed(), tf.constant(new long[] {SALT_PREFILL, 0})), TFloat32.class);
    var top = tf.nn.topK(keys, tf.constant(k), TInt32.class);
    return tf.gather(inner, top.indices(), tf.constant(0));
  }

  /** View with the tokens hidden from the encoder greyed out. */
  private Operand<TFloat32> showVisible(Ops tf, Operand<TFloat32> img, Operand<TInt32> visible) {
    Operand<TFloat32> p = Patches.patchify(tf, img, vit.imageSize(), vit.patchSize(), vit.channels());
    Operand<TBool> m = tf.broadcastTo(tf.expandDims(VisibleTokens.mask(tf, visible, n), tf.constant(-1)), tf.shape(p));
    return Patches.unpatchify(tf, tf.select(m, p, tf.fill(tf.shape(p), tf.constant(0.5f))), vit.imageSize(),
        vit.patchSize(), vit.channels());
  }

  /**
   * The once-per-step state update, after the optimizer: μ from the global batch's statistics (two EMA
   * updates), the K_new words of the global batch into the queue, μ_prev ← μ. Waits for everything the
   * towers computed from the state.
   */
  @Override
  public List<Op> afterUpdate(Ops tf, StepInputs step, List<TowerOutput> towers) {
    List<Op> deps = new ArrayList<>();
    deps.add(tf.withName("moca_after_optimizer").noOp());
    List<Operand<TFloat32>> muBatches = new ArrayList<>();
    List<Operand<TFloat32>> words = new ArrayList<>();
    List<Operand<TFloat32>> keys = new ArrayList<>();
    for (TowerOutput o : towers) {
      deps.add(o.loss());
      o.lossTerms().values().forEach(deps::add);
      o.metrics().values().forEach(deps::add);
      o.state().values().forEach(deps::add);
      muBatches.add(cast(o.state().get("mu_batch")));
      words.add(cast(o.state().get("new_words")));
      keys.add(cast(o.state().get("new_word_keys")));
    }
    Ops w = tf.withControlDependencies(deps);
    // Global-batch μ statistics: the mean of the towers' means (equal tower sizes).
    Operand<TFloat32> muBatch = muBatches.size() == 1 ? muBatches.get(0)
        : w.math.div(w.math.addN(muBatches), w.constant((float) muBatches.size()));
    Operand<TFloat32> muNext = codebook.muAfter(w, muBatch, cfg.getMuMomentum());
    // Global-batch queue words: the K_new smallest keys over all towers' proposals.
    Operand<TFloat32> allWords = words.size() == 1 ? words.get(0) : w.concat(words, w.constant(0));
    Operand<TFloat32> allKeys = keys.size() == 1 ? keys.get(0) : w.concat(keys, w.constant(0));
    var top = w.nn.topK(w.math.neg(allKeys), w.constant(knew), TInt32.class);
    Operand<TFloat32> chosen = OnlineCodebook.l2norm(w, w.gather(allWords, top.indices(), w.constant(0)), 1e-12f);
    if (cfg.getPrefillCodebook()) {
      // The first tower's batch fills the whole queue once (written = 0), before this step's enqueue.
      Op prefill = codebook.prefill(w, OnlineCodebook.l2norm(w, cast(towers.get(0).state().get("prefill_words")),
          1e-12f));
      w = w.withControlDependencies(List.of(prefill));
    }
    return List.of(codebook.update(w, chosen, knew, muNext));
  }

  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> cast(Operand<?> o) {
    return (Operand<TFloat32>) o;
  }

  @Override
  public Map<String, Schedule> scalarSchedules(long totalSteps) {
    return Map.of(MOMENTUM, Schedules.momentum(cfg.getTeacherMomentum(), cfg.getTeacherMomentumEnd(), totalSteps));
  }

  @Override
  public EncoderSpec encoder() {
    return new MocaSpec().encoder(recipe);
  }

  public Recipe recipe() {
    return recipe;
  }
}
