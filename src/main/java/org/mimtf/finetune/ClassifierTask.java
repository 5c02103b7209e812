package org.mimtf.finetune;

import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.proto.FinetuneConfig;
import org.mimtf.api.BatchModel;
import org.mimtf.api.EncoderSpec;
import org.mimtf.api.Losses;
import org.mimtf.api.TrainingTask;
import org.mimtf.api.StepInputs;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Ema;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VitConfig;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Fine-tuning as a task of the shared {@link org.mimtf.train.Trainer}: the trainer trains any
 * {@link TrainingTask} (a pre-training method is one kind), and a classifier fits that contract — variables in
 * {@link #create}, one tower's loss in {@link #tower}, and once-per-graph ops in
 * {@link #beforeTowers}. Those once-per-graph ops are what the fine-tuning hook needs beside the
 * step: an inference branch over the same variables ({@value #EVAL_IMAGES} → {@value #EVAL_LOGITS},
 * no drop path) for test-set evaluation between steps, and one placeholder + assign per parameter to
 * load pre-trained weights into a fresh run.
 *
 * <p>Loss: cross-entropy against soft targets — one-hot labels smoothed as timm
 * ({@code on = 1 − ε + ε/C}, {@code off = ε/C}), or the mixed targets of {@link Mixup} in field
 * {@value Mixup#TARGET}.
 */
public final class ClassifierTask implements TrainingTask {
  public static final String EVAL_IMAGES = "finetune_eval/images";
  public static final String EVAL_LOGITS = "finetune_eval/logits";
  static final String LOAD_SCOPE = "finetune_load";
  /** Scope of the weight EMA ({@code finetune.model_ema}): {@code ema/encoder/...}, {@code ema/head/...}. */
  public static final String EMA_SCOPE = "ema/";
  public static final String EVAL_EMA_LOGITS = "finetune_eval_ema/logits";
  /** Copies the weights into the EMA (run after loading the encoder into a fresh run). */
  public static final String EMA_INIT = "finetune_ema_init/ema_update";

  private final VitConfig vit;
  private final FinetuneConfig ft;
  private final int classes;
  private final Mixup mixup;
  private Classifier model;
  private Classifier emaModel;
  private Ema ema;
  private final List<Param> loadable = new ArrayList<>();

  /**
   * @param vit the fine-tuned encoder's configuration ({@link FinetuneRecipe#fineTunedModel})
   * @param mixup the batch mixer, or null without Mixup/CutMix
   */
  public ClassifierTask(VitConfig vit, FinetuneConfig ft, int classes, Mixup mixup) {
    this.vit = vit;
    this.ft = ft;
    this.classes = classes;
    this.mixup = mixup;
  }

  @Override
  public String name() {
    return "finetune";
  }

  @Override
  public List<BatchModel> batchModels() {
    return mixup == null ? List.of() : List.of(mixup);
  }

  @Override
  public void create(Ops tf, ParamStore params) {
    model = Classifier.create(params, tf, vit, classes, ft.getPool(), ft.getHeadInitStd());
    loadable.addAll(params.all());
    if (ft.getModelEma()) {
      // timm's ModelEmaV2: a non-trained copy of the whole classifier (encoder, fc_norm, head)
      params.aliasSeeds(EMA_SCOPE, "");
      params.freeze(EMA_SCOPE);
      emaModel = Classifier.create(params, tf.withSubScope("ema"), vit, classes, ft.getPool(), ft.getHeadInitStd());
      ema = Ema.between(params, "", EMA_SCOPE);
    }
  }

  /** EMA update after each optimizer step: {@code ema ← decay·ema + (1 − decay)·weights}. */
  @Override
  public List<Op> afterUpdate(Ops tf, StepInputs step, List<TowerOutput> towers) {
    if (ema == null) {
      return List.of();
    }
    return List.of(ema.update(tf.withSubScope("finetune_ema"), tf.constant(ft.getModelEmaDecay())));
  }

  @Override
  public void beforeTowers(Ops tf, Compute compute, StepInputs step) {
    Ops ev = tf.withSubScope("finetune_eval");
    Placeholder<TFloat32> images = ev.withName("images").placeholder(TFloat32.class,
        Placeholder.shape(Shape.of(-1, vit.imageSize(), vit.imageSize(), vit.channels())));
    ev.withName("logits").identity(model.logits(ev, compute, images, null));
    if (ema != null) {
      Ops ee = tf.withSubScope("finetune_eval_ema");
      ee.withName("logits").identity(emaModel.logits(ee, compute, images, null));
      // momentum 0: the EMA becomes a bit-identical copy of the (just loaded) weights
      ema.update(tf.withSubScope("finetune_ema_init"), tf.constant(0f));
    }
    Ops ld = tf.withSubScope(LOAD_SCOPE);
    for (int i = 0; i < loadable.size(); i++) {
      Param p = loadable.get(i);
      Placeholder<TFloat32> v = ld.withName("value_" + i).placeholder(TFloat32.class, Placeholder.shape(p.shape()));
      ld.withName("assign_" + i).assign(p.variable(), v);
    }
  }

  /** The parameters a load can assign, in the order of their {@code finetune_load/value_<i>} ops. */
  public List<Param> loadable() {
    return List.copyOf(loadable);
  }

  @Override
  public TowerOutput tower(Ops tf, Compute compute, TowerInputs in) {
    Operand<TFloat32> images = in.floats("image");
    Operand<TInt32> labels = in.ints("label");
    Operand<TFloat32> logits = model.logits(tf, compute, images, in.step().dropSeed());
    Operand<TFloat32> targets = mixup != null ? in.floats(Mixup.TARGET)
        : smoothedOneHot(tf, labels, classes, ft.getLabelSmoothing());
    Operand<TFloat32> loss = Losses.softCrossEntropy(tf, logits, targets);
    Operand<TFloat32> top1 = tf.math.mean(tf.dtypes.cast(tf.math.equal(tf.math.argMax(logits, tf.constant(1),
        TInt32.class), labels), TFloat32.class), tf.constant(0));
    return TowerOutput.builder(loss).term("ce", loss).metric("train_top1", top1).build();
  }

  /** timm's smoothed one-hot targets [B, C]: {@code 1 − ε + ε/C} on the label, {@code ε/C} elsewhere. */
  public static Operand<TFloat32> smoothedOneHot(Ops tf, Operand<TInt32> labels, int classes, float smoothing) {
    float off = smoothing / classes;
    return tf.oneHot(labels, tf.constant(classes), tf.constant(1f - smoothing + off), tf.constant(off));
  }

  /** The fine-tuned encoder: its configuration, under the scope {@code encoder}. */
  public EncoderSpec encoder() {
    return new EncoderSpec(vit, "encoder");
  }

  public int classes() {
    return classes;
  }
}
