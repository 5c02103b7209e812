package org.mimtf.api;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.mimtf.config.proto.Augmentation;
import org.mimtf.config.proto.DataConfig;
import org.mimtf.config.proto.DecoderConfig;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.config.proto.RandomResizedCrop;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.ScheduleConfig;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.config.proto.TeacherConfig;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.config.proto.ViewConfig;

/**
 * Collects the problems of a resolved recipe, and the checks of the sections that more than one
 * place validates (a ViT config, a decoder, optimizer, schedule and training settings, a teacher): the
 * recipe-wide validator ({@code config.RecipeValidator}) runs them on the recipe's own sections, a
 * {@link MethodSpec} on its method's section (BEiT v2's tokenizer stage has a model, optimizer,
 * schedule and training of its own). Each problem names the field as written in the pbtxt, shows the
 * value and says what was expected, e.g. {@code model.patch_size (5) must divide model.image_size (28)}.
 */
public final class RecipeChecks {
  private final List<String> problems = new ArrayList<>();

  /** The problems found so far, in the order found. */
  public List<String> problems() {
    return List.copyOf(problems);
  }

  /** Records a problem unless {@code ok}. */
  public void require(boolean ok, String format, Object... args) {
    if (!ok) {
      problems.add(String.format(format, args));
    }
  }

  /** Records a problem. */
  public void problem(String message) {
    problems.add(message);
  }

  /** A fraction in [0, 1). */
  public void ratio(String field, float v) {
    require(v >= 0 && v < 1, "%s (%s) must be in [0, 1)", field, v);
  }

  /** A probability or weight in [0, 1]. */
  public void unitClosed(String field, float v) {
    require(v >= 0 && v <= 1, "%s (%s) must be in [0, 1]", field, v);
  }

  /** Side of the patch grid of the recipe's model (0 when the patch size is not positive). */
  public static int grid(Recipe r) {
    ModelConfig m = r.getModel();
    return m.getPatchSize() > 0 ? m.getImageSize() / m.getPatchSize() : 0;
  }

  /** A ViT configuration at {@code p} (e.g. {@code model}, {@code beitv2.tokenizer.encoder}). */
  public void model(String p, ModelConfig m) {
    require(m.getWidth() > 0, "%s.width (%s) must be > 0 (set size or width)", p, m.getWidth());
    require(m.getDepth() > 0, "%s.depth (%s) must be > 0 (set size or depth)", p, m.getDepth());
    require(m.getNumHeads() > 0, "%s.num_heads (%s) must be > 0 (set size or num_heads)", p, m.getNumHeads());
    if (m.getWidth() > 0 && m.getNumHeads() > 0) {
      require(m.getWidth() % m.getNumHeads() == 0, "%s.width (%s) must be divisible by %s.num_heads (%s)",
          p, m.getWidth(), p, m.getNumHeads());
    }
    require(m.getImageSize() > 0, "%s.image_size (%s) must be > 0", p, m.getImageSize());
    require(m.getPatchSize() > 0, "%s.patch_size (%s) must be > 0", p, m.getPatchSize());
    if (m.getImageSize() > 0 && m.getPatchSize() > 0) {
      require(m.getImageSize() % m.getPatchSize() == 0,
          "%s.patch_size (%s) must divide %s.image_size (%s)", p, m.getPatchSize(), p, m.getImageSize());
    }
    require(m.getChannels() == 1 || m.getChannels() == 3, "%s.channels (%s) must be 1 or 3", p,
        m.getChannels());
    if (m.getAbsPosEmbedding() == ModelConfig.AbsPosEmbedding.SINCOS_2D) {
      require(m.getWidth() % 4 == 0, "%s.width (%s) must be divisible by 4 for SINCOS_2D position embedding",
          p, m.getWidth());
    }
    ratio(p + ".drop_path_rate", m.getDropPathRate());
    require(m.getLayerScaleInit() >= 0, "%s.layer_scale_init (%s) must be >= 0 (0 = off)", p,
        m.getLayerScaleInit());
    require(m.getLayerNormEps() > 0, "%s.layer_norm_eps (%s) must be > 0", p, m.getLayerNormEps());
    if (!m.getIdentityNormalization()) {
      require(m.getInputMeanCount() == m.getChannels(), "%s.input_mean has %s values, expected one per channel (%s)",
          p, m.getInputMeanCount(), m.getChannels());
      require(m.getInputStdCount() == m.getChannels(), "%s.input_std has %s values, expected one per channel (%s)",
          p, m.getInputStdCount(), m.getChannels());
      for (int i = 0; i < m.getInputStdCount(); i++) {
        require(m.getInputStd(i) > 0, "%s.input_std[%s] (%s) must be > 0", p, i, m.getInputStd(i));
      }
    }
  }

  /** A decoder of transformer blocks beside the encoder {@code m} (width and heads 0 = the encoder's). */
  public void decoder(String p, DecoderConfig d, ModelConfig m) {
    require(d.getDepth() >= 1, "%s.depth (%s) must be >= 1", p, d.getDepth());
    int w = d.getWidth() == 0 ? m.getWidth() : d.getWidth();
    int h = d.getNumHeads() == 0 ? m.getNumHeads() : d.getNumHeads();
    require(w > 0 && h > 0 && w % h == 0, "%s.width (%s) must be divisible by %s.num_heads (%s)", p, w, p, h);
  }

  public void optimizer(String p, OptimizerConfig o) {
    ratio(p + ".beta1", o.getBeta1());
    ratio(p + ".beta2", o.getBeta2());
    require(o.getEpsilon() > 0, "%s.epsilon (%s) must be > 0", p, o.getEpsilon());
    require(o.getWeightDecay() >= 0, "%s.weight_decay (%s) must be >= 0", p, o.getWeightDecay());
    require(o.getClipGradNorm() >= 0, "%s.clip_grad_norm (%s) must be >= 0 (0 = off)", p, o.getClipGradNorm());
    require(o.getLayerDecay() > 0 && o.getLayerDecay() <= 1, "%s.layer_decay (%s) must be in (0, 1]", p,
        o.getLayerDecay());
  }

  public void schedule(String p, ScheduleConfig s) {
    require(s.getBaseLr() > 0, "%s.base_lr (%s) must be > 0", p, s.getBaseLr());
    require(s.getMinLr() >= 0 && s.getMinLr() <= s.getBaseLr(), "%s.min_lr (%s) must be in [0, base_lr = %s]", p,
        s.getMinLr(), s.getBaseLr());
    require(s.getWarmupEpochs() >= 0 && s.getWarmupSteps() >= 0, "%s: warm-up must be >= 0", p);
    require(s.getDecayLengthFactor() >= 1, "%s.decay_length_factor (%s) must be >= 1", p, s.getDecayLengthFactor());
    require(s.getLrBatchDivisor() >= 0, "%s.lr_batch_divisor (%s) must be >= 0", p, s.getLrBatchDivisor());
  }

  public void training(String p, TrainingConfig t) {
    require(t.getBatchSize() > 0, "%s.batch_size (%s) must be > 0", p, t.getBatchSize());
    require(t.getSteps() >= 0 && t.getEpochs() >= 0, "%s: steps (%s) and epochs (%s) must be >= 0", p, t.getSteps(),
        t.getEpochs());
    require(t.getSteps() > 0 || t.getEpochs() > 0, "%s: set steps or epochs (both are 0)", p);
    require(t.getGradAccumSteps() >= 1, "%s.grad_accum_steps (%s) must be >= 1", p, t.getGradAccumSteps());
    require(t.getCheckpointEverySteps() >= 1, "%s.checkpoint_every_steps (%s) must be >= 1", p,
        t.getCheckpointEverySteps());
    require(t.getKeepCheckpoints() >= 1, "%s.keep_checkpoints (%s) must be >= 1", p, t.getKeepCheckpoints());
    require(t.getLogEverySteps() >= 1, "%s.log_every_steps (%s) must be >= 1", p, t.getLogEverySteps());
    require(t.getGpuMemoryFraction() >= 0 && t.getGpuMemoryFraction() <= 1,
        "%s.gpu_memory_fraction (%s) must be in [0, 1]", p, t.getGpuMemoryFraction());
    String d = t.getDevices().trim();
    require(d.equals("auto") || d.equals("cpu") || d.matches("\\d+") || d.matches("(/?(cpu|gpu|CPU|GPU):\\d+\\s*,?\\s*)+")
            || d.matches("(/job:[^,]+\\s*,?\\s*)+"),
        "%s.devices (\"%s\") must be auto, cpu, a count such as 2, or a list such as /gpu:0,/gpu:1", p, d);
  }

  /** A data section: its source, loader settings and views (a run's, or a tokenizer stage's). */
  public void data(String p, DataConfig d, ModelConfig m) {
    source(p + ".source", d.getSource(), true);
    require(d.getWorkers() >= 1, "%s.workers (%s) must be >= 1", p, d.getWorkers());
    require(d.getPrefetch() >= 0, "%s.prefetch (%s) must be >= 0", p, d.getPrefetch());
    require(d.getShuffleBuffer() >= 0, "%s.shuffle_buffer (%s) must be >= 0 (0 = whole epoch)", p,
        d.getShuffleBuffer());
    Set<String> names = new HashSet<>();
    for (int i = 0; i < d.getViewCount(); i++) {
      ViewConfig v = d.getView(i);
      String vp = p + ".view[" + i + "]";
      require(!v.getName().isEmpty(), "%s.name is empty: every view needs a name (its batch field)", vp);
      require(names.add(v.getName()), "%s.name (\"%s\") is used twice", vp, v.getName());
      if (!v.getGeometryFrom().isEmpty()) {
        require(names.contains(v.getGeometryFrom()) && !v.getGeometryFrom().equals(v.getName()),
            "%s.geometry_from (\"%s\") must name an earlier view", vp, v.getGeometryFrom());
      }
      boolean photometricSeen = false;
      for (int j = 0; j < v.getAugmentCount(); j++) {
        Augmentation a = v.getAugment(j);
        String ap = vp + ".augment[" + j + "]";
        boolean geometric = a.hasRandomResizedCrop() || a.hasResize() || a.hasCenterCrop() || a.hasHorizontalFlip();
        if (geometric && !v.getGeometryFrom().isEmpty()) {
          problem(String.format("%s: a view with geometry_from takes its crop and flip from view \"%s\"; "
              + "it may only list photometric ops", ap, v.getGeometryFrom()));
        }
        if (geometric && photometricSeen) {
          problem(ap + ": geometric ops (crop, resize, flip) must come before photometric ones");
        }
        photometricSeen |= !geometric;
        augmentation(ap, a, m);
      }
    }
  }

  /** One augmentation op of a view. */
  public void augmentation(String p, Augmentation a, ModelConfig m) {
    switch (a.getOpCase()) {
      case RANDOM_RESIZED_CROP -> {
        RandomResizedCrop c = a.getRandomResizedCrop();
        require(c.getMinScale() > 0 && c.getMinScale() <= c.getMaxScale() && c.getMaxScale() <= 1,
            "%s.random_resized_crop: scale range [%s, %s] must satisfy 0 < min_scale <= max_scale <= 1", p,
            c.getMinScale(), c.getMaxScale());
        require(c.getMinRatio() > 0 && c.getMinRatio() <= c.getMaxRatio(),
            "%s.random_resized_crop: ratio range [%s, %s] must satisfy 0 < min_ratio <= max_ratio", p,
            c.getMinRatio(), c.getMaxRatio());
        require(c.getSize() >= 0, "%s.random_resized_crop.size (%s) must be >= 0", p, c.getSize());
      }
      case HORIZONTAL_FLIP -> unitClosed(p + ".horizontal_flip.p", a.getHorizontalFlip().getP());
      case COLOR_JITTER -> {
        var j = a.getColorJitter();
        require(j.getBrightness() >= 0 && j.getContrast() >= 0 && j.getSaturation() >= 0,
            "%s.color_jitter: brightness, contrast, saturation must be >= 0", p);
        require(j.getHue() >= 0 && j.getHue() <= 0.5, "%s.color_jitter.hue (%s) must be in [0, 0.5]", p,
            j.getHue());
        unitClosed(p + ".color_jitter.p", j.getP());
      }
      case GRAYSCALE -> unitClosed(p + ".grayscale.p", a.getGrayscale().getP());
      case GAUSSIAN_BLUR -> {
        var g = a.getGaussianBlur();
        unitClosed(p + ".gaussian_blur.p", g.getP());
        require(g.getMinSigma() > 0 && g.getMinSigma() <= g.getMaxSigma(),
            "%s.gaussian_blur: sigma range [%s, %s] must satisfy 0 < min_sigma <= max_sigma", p,
            g.getMinSigma(), g.getMaxSigma());
      }
      case SOLARIZE -> unitClosed(p + ".solarize.p", a.getSolarize().getP());
      case NORMALIZE -> {
        var n = a.getNormalize();
        require(n.getMeanCount() == m.getChannels() && n.getStdCount() == m.getChannels(),
            "%s.normalize: mean and std need one value per channel (%s), got %s and %s", p, m.getChannels(),
            n.getMeanCount(), n.getStdCount());
      }
      case RESIZE -> require(a.getResize().getSize() > 0, "%s.resize.size (%s) must be > 0", p,
          a.getResize().getSize());
      case CENTER_CROP -> require(a.getCenterCrop().getSize() >= 0, "%s.center_crop.size must be >= 0", p);
      case OP_NOT_SET -> problem(p + ": empty augmentation (expected one op such as random_resized_crop { })");
    }
  }

  public void source(String p, SourceConfig s, boolean needed) {
    if (s.getKind() == SourceConfig.Kind.KIND_UNSET) {
      if (needed) {
        problem(p + ".kind is not set (expected IDX, IMAGE_FOLDER, TFRECORD or SYNTHETIC)");
      }
      return;
    }
    if (s.getKind() != SourceConfig.Kind.SYNTHETIC) {
      require(!s.getPath().isEmpty(), "%s.path is missing (the %s data to read)", p, s.getKind());
    }
    require(s.getLimit() >= 0, "%s.limit (%s) must be >= 0 (0 = all)", p, s.getLimit());
    require(s.getNumClasses() >= 0, "%s.num_classes (%s) must be >= 0", p, s.getNumClasses());
    require(s.getMaxSkipped() >= 0, "%s.max_skipped (%s) must be >= 0", p, s.getMaxSkipped());
    // Fields of one kind left over when the kind is changed (--set data.source.kind=...): refused
    // here rather than failing when the source opens.
    require(s.getLabelsPath().isEmpty() || s.getKind() == SourceConfig.Kind.IDX,
        "%s.labels_path (\"%s\") is only read by IDX sources, but %s.kind is %s: remove it (folder names are the "
            + "labels of IMAGE_FOLDER, image/class/label of TFRECORD)", p, s.getLabelsPath(), p, s.getKind());
    if (s.getKind() == SourceConfig.Kind.SYNTHETIC) {
      require(s.getSyntheticCount() > 0, "%s.synthetic_count (%s) must be > 0", p, s.getSyntheticCount());
      require(s.getSyntheticSize() > 0, "%s.synthetic_size (%s) must be > 0", p, s.getSyntheticSize());
      require(s.getSyntheticJpegQuality() >= 1 && s.getSyntheticJpegQuality() <= 100,
          "%s.synthetic_jpeg_quality (%s) must be in [1, 100]", p, s.getSyntheticJpegQuality());
    }
  }

  /** A frozen teacher SavedModel. */
  public void teacher(String p, TeacherConfig t) {
    require(!t.getSavedModelDir().isEmpty(), "%s.saved_model_dir is missing (the teacher SavedModel)", p);
    require(!t.getSignature().isEmpty(), "%s.signature is empty", p);
    require(!t.getOutputKey().isEmpty(), "%s.output_key is empty", p);
  }

  /** A block index in [1, depth): a head that reads an early block's output. */
  public void earlyLayer(String field, int layer, ModelConfig m) {
    require(layer >= 1 && layer < m.getDepth(), "%s (%s) must be in [1, model.depth = %s)", field, layer,
        m.getDepth());
  }

  /** A view name that {@code data.view} defines. */
  public void viewExists(Recipe r, String field, String name) {
    boolean found = r.getData().getViewList().stream().anyMatch(v -> v.getName().equals(name));
    require(found, "%s (\"%s\") must name a view in data.view (have: %s)", field, name,
        r.getData().getViewList().stream().map(ViewConfig::getName).toList());
  }
}
