package org.mimtf.methods.beitv2;

import java.util.List;
import org.mimtf.api.BatchModel;
import org.mimtf.api.EncoderSpec;
import org.mimtf.api.MimMethod;
import org.mimtf.api.StepInputs;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.config.proto.Beitv2Config;
import org.mimtf.nn.Compute;
import org.mimtf.nn.ParamStore;
import org.mimtf.teachers.TeacherFeatures;
import org.mimtf.tokenizers.NormEmaQuantizer;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Sum;
import org.tensorflow.types.TFloat32;

/**
 * Stage 1 of BEiT v2: trains the VQ-KD tokenizer to reconstruct a frozen teacher's per-patch features
 * from the quantised codes (beitv2.md §2): {@code L = mean(1 − cos(decoder(z_q), teacher)) + L_commit},
 * the codebook moving by normalised EMA after each step, k-means-initialised on the first batch.
 *
 * <p>Batch fields: the view {@code image} [B, H, W, C] in [0, 1] and {@code teacher_features} [N, D],
 * filled by the teacher SavedModel loaded beside the session.
 */
public final class VqkdMethod implements MimMethod {
  static final String TEACHER_FIELD = "teacher_features";
  private final Beitv2Config.Vqkd cfg;
  private final TeacherFeatures teacher;
  private final VqkdModel model;
  private final String view;

  VqkdMethod(Beitv2Config.Vqkd cfg, TeacherFeatures teacher, String view) {
    this(cfg, teacher, teacher.dim(), view);
  }

  /** With {@code teacher} null the {@code teacher_features} field must be fed directly (tests). */
  VqkdMethod(Beitv2Config.Vqkd cfg, TeacherFeatures teacher, int targetDim, String view) {
    this.cfg = cfg;
    this.teacher = teacher;
    this.view = view;
    this.model = new VqkdModel(cfg, targetDim);
  }

  @Override
  public String name() {
    return "vqkd";
  }

  @Override
  public List<BatchModel> batchModels() {
    return teacher == null ? List.of() : List.of(teacher);
  }

  @Override
  public void create(Ops tf, ParamStore params) {
    model.create(tf, params);
  }

  VqkdModel model() {
    return model;
  }

  @Override
  public TowerOutput tower(Ops tf, Compute c, TowerInputs in) {
    Operand<TFloat32> z = model.encode(tf, c, in.floats(view), in.step().dropSeed());
    NormEmaQuantizer.Quantized q = model.quantizer.quantize(tf, c, z, cfg.getBeta());
    Operand<TFloat32> pred = model.decode(tf, c, q.straightThrough(), in.step().dropSeed());
    Operand<TFloat32> target = tf.reshape(in.floats(TEACHER_FIELD), tf.constant(new int[] {-1, model.targetDim}));
    target = org.mimtf.teachers.TeacherTargets.normalize(tf, target, cfg.getTeacher().getTargetNorm(), 1e-6f);
    Operand<TFloat32> rec = tf.math.mean(tf.math.sub(tf.constant(1f), cosine(tf, pred, tf.stopGradient(target))),
        tf.constant(0));
    Operand<TFloat32> loss = tf.math.add(rec, q.commitment());
    Operand<TFloat32> usage = model.quantizer.usage(tf, in.step().step(), q.counts(), cfg.getDeadCodeWindow());
    return TowerOutput.builder(loss)
        .term("rec_cosine", rec)
        .term("commitment", q.commitment())
        .metric("codebook_usage", usage)
        .metric("perplexity", NormEmaQuantizer.perplexity(tf, q.counts()))
        .state("z", z)
        .state("ids", q.ids())
        .build();
  }

  /** Row-wise cosine similarity of [M, D] pairs. */
  static Operand<TFloat32> cosine(Ops tf, Operand<TFloat32> a, Operand<TFloat32> b) {
    return tf.sum(tf.math.mul(NormEmaQuantizer.l2norm(tf, a), NormEmaQuantizer.l2norm(tf, b)), tf.constant(-1),
        Sum.keepDims(false));
  }

  @Override
  public Op warmStart(Ops tf, Compute c, TowerInputs in) {
    if (!cfg.getKmeansInit()) {
      return null;
    }
    Operand<TFloat32> z = model.encode(tf, c, in.floats(view), null);
    return model.quantizer.kmeansInit(tf, c, z, cfg.getKmeansIterations(), in.step().seed());
  }

  /**
   * The codebook moves once per step on the statistics of the GLOBAL batch: every tower's features and
   * assignments are concatenated here (with one tower this is its own batch), as the official code
   * sums counts and sums across workers before the EMA step.
   */
  @Override
  @SuppressWarnings("unchecked")
  public List<Op> afterUpdate(Ops tf, StepInputs step, List<TowerOutput> towers) {
    List<Operand<TFloat32>> zs = new java.util.ArrayList<>();
    List<Operand<org.tensorflow.types.TInt32>> ids = new java.util.ArrayList<>();
    for (TowerOutput t : towers) {
      zs.add((Operand<TFloat32>) t.state().get("z"));
      ids.add((Operand<org.tensorflow.types.TInt32>) t.state().get("ids"));
    }
    Operand<TFloat32> z = zs.size() == 1 ? zs.get(0) : tf.concat(zs, tf.constant(0));
    Operand<org.tensorflow.types.TInt32> id = ids.size() == 1 ? ids.get(0) : tf.concat(ids, tf.constant(0));
    NormEmaQuantizer.Quantized all = model.quantizer.assignments(tf, z, id);
    return List.of(model.quantizer.emaUpdate(tf, all, cfg.getEmaDecay(), step.step(), cfg.getReseedDeadCodes(),
        cfg.getDeadCodeWindow(), step.seed()));
  }

  @Override
  public EncoderSpec encoder() {
    return new EncoderSpec(model.encoderCfg, "tokenizer/encoder");
  }
}
