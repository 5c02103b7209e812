package org.mimtf.finetune;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.proto.Augmentation;
import org.mimtf.config.proto.DataConfig;
import org.mimtf.config.proto.ExportConfig;
import org.mimtf.config.proto.FinetuneConfig;
import org.mimtf.config.proto.HorizontalFlip;
import org.mimtf.config.proto.MaskingConfig;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.RandomResizedCrop;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.config.proto.ViewConfig;
import org.mimtf.util.UserException;

/**
 * The {@code finetune} section of a recipe: its resolution (defaults that depend on other fields) and
 * the training recipe it stands for. Fine-tuning runs through the same {@link org.mimtf.train.Trainer}
 * as pre-training; the Trainer reads {@code data}, {@code optimizer}, {@code schedule} and
 * {@code training} of the recipe it gets, so {@link #trainingRecipe} swaps in the fine-tuning values
 * and the fine-tuned model (drop path, one relative bias table per block as BEiT's fine-tuning).
 */
public final class FinetuneRecipe {
  /** {@code finetune.encoder} value of the from-scratch baseline. */
  public static final String RANDOM_INIT = "random_init";

  private FinetuneRecipe() {}

  /** Fills the derived defaults of {@code finetune} (run directory, export name, default view). */
  public static Recipe.Builder resolve(Recipe.Builder b) {
    if (!b.hasFinetune()) {
      return b;
    }
    String name = b.getName().isEmpty() ? "run" : b.getName();
    FinetuneConfig.Builder f = b.getFinetuneBuilder();
    if (f.getTraining().getRunDir().isEmpty()) {
      f.getTrainingBuilder().setRunDir("runs/" + name + "_finetune");
    }
    if (f.getExport().getName().isEmpty()) {
      f.getExportBuilder().setName(name + "_classifier");
    }
    if (f.getData().getViewCount() == 0) {
      int size = b.getModel().getImageSize();
      f.getDataBuilder().addView(ViewConfig.newBuilder().setName("image")
          .addAugment(Augmentation.newBuilder().setRandomResizedCrop(RandomResizedCrop.newBuilder().setSize(size)))
          .addAugment(Augmentation.newBuilder().setHorizontalFlip(HorizontalFlip.getDefaultInstance())));
    }
    // every message present shows its defaults when the recipe is printed
    f.setOptimizer(f.getOptimizer()).setSchedule(f.getSchedule()).setTraining(f.getTraining())
        .setExport(f.getExport());
    return b;
  }

  /**
   * The recipe the Trainer runs: the fine-tuning data, optimizer, schedule and training settings, no
   * masking, and the model with the fine-tuning drop-path rate and per-block relative position
   * bias (BEiT fine-tunes with {@code use_rel_pos_bias}: each block gets its own copy of the shared
   * pre-trained table, common-vit.md §4).
   */
  public static Recipe trainingRecipe(Recipe r) {
    requireSection(r);
    FinetuneConfig f = r.getFinetune();
    return r.toBuilder()
        .setModel(fineTunedModel(r.getModel(), f))
        .setData(f.getData())
        .setMasking(MaskingConfig.getDefaultInstance())
        .setOptimizer(f.getOptimizer())
        .setSchedule(f.getSchedule())
        .setTraining(f.getTraining())
        .setExport(f.getExport())
        .build();
  }

  /** The model as fine-tuned: {@code drop_path_rate} from the section, relative bias per block. */
  public static ModelConfig fineTunedModel(ModelConfig m, FinetuneConfig f) {
    ModelConfig.Builder b = m.toBuilder().setDropPathRate(f.getDropPathRate());
    if (m.getRelPosBias() == ModelConfig.RelPosBias.SHARED) {
      b.setRelPosBias(ModelConfig.RelPosBias.PER_BLOCK);
    }
    return b.build();
  }

  /** Number of classes: {@code finetune.num_classes}, else the training source's. */
  public static int numClasses(Recipe r, int fromSource) {
    FinetuneConfig f = r.getFinetune();
    if (f.getNumClasses() > 0) {
      return f.getNumClasses();
    }
    if (f.getData().getSource().getNumClasses() > 0) {
      return f.getData().getSource().getNumClasses();
    }
    if (fromSource > 0) {
      return fromSource;
    }
    throw new UserException("finetune: the number of classes is unknown; set finetune.num_classes or "
        + "finetune.data.source.num_classes");
  }

  /** Where the classifier is exported: {@code finetune.export.dir/name/version}. */
  public static Path exportDir(Recipe r) {
    ExportConfig e = r.getFinetune().getExport();
    return Path.of(e.getDir(), e.getName(), Integer.toString(e.getVersion()));
  }

  /** The section's relative paths resolved by {@code resolve} (data, test set, encoder). */
  public static FinetuneConfig resolvePaths(FinetuneConfig f, java.util.function.UnaryOperator<SourceConfig> source,
      java.util.function.UnaryOperator<String> input) {
    FinetuneConfig.Builder b = f.toBuilder();
    if (f.getData().hasSource()) {
      b.getDataBuilder().setSource(source.apply(f.getData().getSource()));
    }
    if (f.hasTest()) {
      b.setTest(source.apply(f.getTest()));
    }
    if (!f.getEncoder().isEmpty() && !f.getEncoder().equals(RANDOM_INIT)) {
      b.setEncoder(input.apply(f.getEncoder()));
    }
    return b.build();
  }

  /** Problems of the {@code finetune} section, as lines naming the field (see RecipeValidator). */
  public static List<String> validate(Recipe r) {
    List<String> p = new ArrayList<>();
    if (!r.hasFinetune()) {
      return p;
    }
    FinetuneConfig f = r.getFinetune();
    DataConfig d = f.getData();
    if (d.getSource().getKind() == SourceConfig.Kind.KIND_UNSET) {
      p.add("finetune.data.source.kind is not set (the labelled training data: IDX, IMAGE_FOLDER or TFRECORD)");
    } else if (d.getSource().getKind() != SourceConfig.Kind.SYNTHETIC && d.getSource().getPath().isEmpty()) {
      p.add("finetune.data.source.path is missing");
    }
    if (f.getTest().getKind() == SourceConfig.Kind.KIND_UNSET) {
      p.add("finetune.test.kind is not set (the labelled test set scored for top-1/top-5)");
    } else if (f.getTest().getKind() != SourceConfig.Kind.SYNTHETIC && f.getTest().getPath().isEmpty()) {
      p.add("finetune.test.path is missing");
    }
    require(p, f.getNumClasses() >= 0, "finetune.num_classes (%s) must be >= 0 (0 = the source's)",
        f.getNumClasses());
    int classes = f.getNumClasses() > 0 ? f.getNumClasses() : d.getSource().getNumClasses();
    if (f.getClassNamesCount() > 0 && classes > 0) {
      require(p, f.getClassNamesCount() == classes, "finetune.class_names has %s names for %s classes",
          f.getClassNamesCount(), classes);
    }
    require(p, f.getHeadInitStd() > 0, "finetune.head_init_std (%s) must be > 0", f.getHeadInitStd());
    require(p, f.getDropPathRate() >= 0 && f.getDropPathRate() < 1, "finetune.drop_path_rate (%s) must be in [0, 1)",
        f.getDropPathRate());
    require(p, f.getLabelSmoothing() >= 0 && f.getLabelSmoothing() < 1,
        "finetune.label_smoothing (%s) must be in [0, 1)", f.getLabelSmoothing());
    require(p, f.getOptimizer().getLayerDecay() > 0 && f.getOptimizer().getLayerDecay() <= 1,
        "finetune.optimizer.layer_decay (%s) must be in (0, 1]", f.getOptimizer().getLayerDecay());
    require(p, f.getOptimizer().getWeightDecay() >= 0, "finetune.optimizer.weight_decay (%s) must be >= 0",
        f.getOptimizer().getWeightDecay());
    require(p, f.getSchedule().getBaseLr() > 0, "finetune.schedule.base_lr (%s) must be > 0",
        f.getSchedule().getBaseLr());
    require(p, f.getSchedule().getMinLr() >= 0 && f.getSchedule().getMinLr() <= f.getSchedule().getBaseLr(),
        "finetune.schedule.min_lr (%s) must be in [0, base_lr = %s]", f.getSchedule().getMinLr(),
        f.getSchedule().getBaseLr());
    require(p, f.getTraining().getBatchSize() > 0, "finetune.training.batch_size (%s) must be > 0",
        f.getTraining().getBatchSize());
    require(p, f.getTraining().getSteps() > 0 || f.getTraining().getEpochs() > 0,
        "finetune.training: set steps or epochs (both are 0)");
    require(p, f.getTraining().getCheckpointEverySteps() >= 1 && f.getTraining().getLogEverySteps() >= 1
        && f.getTraining().getKeepCheckpoints() >= 1 && f.getTraining().getGradAccumSteps() >= 1,
        "finetune.training: checkpoint_every_steps, log_every_steps, keep_checkpoints and grad_accum_steps must be "
            + ">= 1");
    require(p, f.getEvalEverySteps() >= 0, "finetune.eval_every_steps (%s) must be >= 0 (0 = at the end)",
        f.getEvalEverySteps());
    require(p, f.getEvalBatchSize() > 0, "finetune.eval_batch_size (%s) must be > 0", f.getEvalBatchSize());
    require(p, f.getTopK() >= 1 && (classes == 0 || f.getTopK() <= classes),
        "finetune.top_k (%s) must be in [1, classes = %s]", f.getTopK(), classes);
    require(p, f.getExport().getVersion() > 0, "finetune.export.version (%s) must be a positive integer",
        f.getExport().getVersion());
    if (f.hasMixup()) {
      var m = f.getMixup();
      require(p, m.getMixupAlpha() >= 0 && m.getCutmixAlpha() >= 0,
          "finetune.mixup: mixup_alpha (%s) and cutmix_alpha (%s) must be >= 0", m.getMixupAlpha(),
          m.getCutmixAlpha());
      require(p, m.getMixupAlpha() > 0 || m.getCutmixAlpha() > 0,
          "finetune.mixup: mixup_alpha or cutmix_alpha must be > 0 (remove the section to turn mixing off)");
      require(p, m.getProb() >= 0 && m.getProb() <= 1 && m.getSwitchProb() >= 0 && m.getSwitchProb() <= 1,
          "finetune.mixup: prob (%s) and switch_prob (%s) must be in [0, 1]", m.getProb(), m.getSwitchProb());
      require(p, f.getTraining().getBatchSize() % 2 == 0 || m.getMode() == org.mimtf.config.proto.MixupConfig.Mode.ELEMENT,
          "finetune.mixup needs an even training batch (batch_size %s)", f.getTraining().getBatchSize());
    }
    if (r.getModel().getAbsPosEmbedding() == ModelConfig.AbsPosEmbedding.ABS_NONE
        && r.getModel().getRelPosBias() == ModelConfig.RelPosBias.REL_NONE) {
      p.add("finetune: the model has no position information (model.abs_pos_embedding and model.rel_pos_bias "
          + "are both off)");
    }
    return p;
  }

  static void requireSection(Recipe r) {
    if (!r.hasFinetune()) {
      throw new UserException("recipe '" + r.getName() + "' has no finetune { } section (see graphs/"
          + "*_fmnist_small.pbtxt for one)");
    }
  }

  private static void require(List<String> p, boolean ok, String format, Object... args) {
    if (!ok) {
      p.add(String.format(format, args));
    }
  }
}
