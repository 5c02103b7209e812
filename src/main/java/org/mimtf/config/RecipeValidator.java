package org.mimtf.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.mimtf.config.proto.Augmentation;
import org.mimtf.config.proto.Beitv2Config;
import org.mimtf.config.proto.BlockMasking;
import org.mimtf.config.proto.CcvitConfig;
import org.mimtf.config.proto.ComplementaryMasking;
import org.mimtf.config.proto.ConmimConfig;
import org.mimtf.config.proto.DataConfig;
import org.mimtf.config.proto.DecoderConfig;
import org.mimtf.config.proto.MaskingConfig;
import org.mimtf.config.proto.MocaConfig;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.config.proto.RandomMasking;
import org.mimtf.config.proto.RandomResizedCrop;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.ScheduleConfig;
import org.mimtf.config.proto.SmrConfig;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.config.proto.TeacherConfig;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.config.proto.ViewConfig;

/**
 * Checks that a resolved recipe's values fit together, collecting every problem rather than stopping
 * at the first. Each problem names the field as written in the pbtxt, shows the value and says what
 * was expected, e.g. {@code model.patch_size (5) must divide model.image_size (28)}.
 *
 * <p>Only facts knowable from the recipe are checked here; whether files exist is checked when they are
 * opened (a recipe may name an artifact that an earlier stage has not produced yet).
 */
public final class RecipeValidator {
  private final List<String> problems = new ArrayList<>();

  private RecipeValidator() {}

  /** Returns the problems of a resolved recipe; empty when it is valid. */
  public static List<String> validate(Recipe r) {
    RecipeValidator v = new RecipeValidator();
    v.check(r);
    return v.problems;
  }

  private void check(Recipe r) {
    model("model", r.getModel());
    data("data", r.getData(), r.getModel());
    masking(r.getMasking(), r.getModel());
    optimizer("optimizer", r.getOptimizer());
    schedule("schedule", r.getSchedule());
    training("training", r.getTraining());
    if (r.getEval().hasTrain()) {
      source("eval.train", r.getEval().getTrain(), false);
    }
    if (r.getEval().hasTest()) {
      source("eval.test", r.getEval().getTest(), false);
    }
    require(r.getEval().getKnnK() > 0, "eval.knn_k (%s) must be > 0", r.getEval().getKnnK());
    require(r.getEval().getKnnTemperature() > 0, "eval.knn_temperature (%s) must be > 0",
        r.getEval().getKnnTemperature());
    require(r.getExport().getVersion() > 0, "export.version (%s) must be a positive integer",
        r.getExport().getVersion());
    switch (r.getMethodCase()) {
      case CCVIT -> ccvit(r);
      case BEITV2 -> beitv2(r);
      case CONMIM -> conmim(r);
      case MOCA -> moca(r);
      case SMR -> smr(r);
      case METHOD_NOT_SET -> problems.add(
          "no method: the recipe needs exactly one of ccvit { }, beitv2 { }, conmim { }, moca { }, smr { }");
    }
  }

  // ---- sections -------------------------------------------------------------------------------

  private void model(String p, ModelConfig m) {
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

  private void decoder(String p, DecoderConfig d, ModelConfig m) {
    require(d.getDepth() >= 1, "%s.depth (%s) must be >= 1", p, d.getDepth());
    int w = d.getWidth() == 0 ? m.getWidth() : d.getWidth();
    int h = d.getNumHeads() == 0 ? m.getNumHeads() : d.getNumHeads();
    require(w > 0 && h > 0 && w % h == 0, "%s.width (%s) must be divisible by %s.num_heads (%s)", p, w, p, h);
  }

  private void data(String p, DataConfig d, ModelConfig m) {
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
          problems.add(String.format("%s: a view with geometry_from takes its crop and flip from view \"%s\"; "
              + "it may only list photometric ops", ap, v.getGeometryFrom()));
        }
        if (geometric && photometricSeen) {
          problems.add(ap + ": geometric ops (crop, resize, flip) must come before photometric ones");
        }
        photometricSeen |= !geometric;
        augmentation(ap, a, m);
      }
    }
  }

  private void augmentation(String p, Augmentation a, ModelConfig m) {
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
      case OP_NOT_SET -> problems.add(p + ": empty augmentation (expected one op such as random_resized_crop { })");
    }
  }

  private void source(String p, SourceConfig s, boolean needed) {
    if (s.getKind() == SourceConfig.Kind.KIND_UNSET) {
      if (needed) {
        problems.add(p + ".kind is not set (expected IDX, IMAGE_FOLDER, TFRECORD or SYNTHETIC)");
      }
      return;
    }
    if (s.getKind() != SourceConfig.Kind.SYNTHETIC) {
      require(!s.getPath().isEmpty(), "%s.path is missing (the %s data to read)", p, s.getKind());
    }
    require(s.getLimit() >= 0, "%s.limit (%s) must be >= 0 (0 = all)", p, s.getLimit());
    require(s.getNumClasses() >= 0, "%s.num_classes (%s) must be >= 0", p, s.getNumClasses());
  }

  private void masking(MaskingConfig mk, ModelConfig m) {
    int g = m.getPatchSize() > 0 ? m.getImageSize() / m.getPatchSize() : 0;
    int n = g * g;
    switch (mk.getGeneratorCase()) {
      case BLOCK -> {
        BlockMasking b = mk.getBlock();
        require(b.getNumMaskingPatches() > 0 && b.getNumMaskingPatches() < n,
            "masking.block.num_masking_patches (%s) must be in [1, %s) for a %sx%s grid",
            b.getNumMaskingPatches(), n, g, g);
        ratio("masking.block.mask_ratio", b.getMaskRatio());
        require(b.getMinNumPatches() >= 1, "masking.block.min_num_patches (%s) must be >= 1", b.getMinNumPatches());
        require(b.getMinAspect() > 0, "masking.block.min_aspect (%s) must be > 0", b.getMinAspect());
        require(b.getMaxNumPatches() >= 0, "masking.block.max_num_patches (%s) must be >= 0", b.getMaxNumPatches());
      }
      case RANDOM -> {
        RandomMasking rm = mk.getRandom();
        ratio("masking.random.mask_ratio", rm.getMaskRatio());
        require(rm.getUnitSize() >= 1 && g % rm.getUnitSize() == 0,
            "masking.random.unit_size (%s) must divide the %sx%s patch grid", rm.getUnitSize(), g, g);
      }
      case COMPLEMENTARY -> {
        ComplementaryMasking c = mk.getComplementary();
        ratio("masking.complementary.first_mask_ratio", c.getFirstMaskRatio());
        ratio("masking.complementary.second_mask_ratio", c.getSecondMaskRatio());
        ratio("masking.complementary.partial_decoding_ratio", c.getPartialDecodingRatio());
        int keep1 = (int) Math.floor(n * (1 - c.getFirstMaskRatio()));
        int keep2 = (int) Math.floor(n * (1 - c.getSecondMaskRatio()));
        int pred = (int) Math.floor(n * c.getPartialDecodingRatio());
        require(keep2 <= n - keep1 - pred,
            "masking.complementary: the second round's %s visible tokens must fit in the %s tokens that are neither "
                + "visible in round 1 (%s) nor predicted (%s)", keep2, n - keep1 - pred, keep1, pred);
      }
      case GENERATOR_NOT_SET -> {}
    }
  }

  private void optimizer(String p, OptimizerConfig o) {
    ratio(p + ".beta1", o.getBeta1());
    ratio(p + ".beta2", o.getBeta2());
    require(o.getEpsilon() > 0, "%s.epsilon (%s) must be > 0", p, o.getEpsilon());
    require(o.getWeightDecay() >= 0, "%s.weight_decay (%s) must be >= 0", p, o.getWeightDecay());
    require(o.getClipGradNorm() >= 0, "%s.clip_grad_norm (%s) must be >= 0 (0 = off)", p, o.getClipGradNorm());
    require(o.getLayerDecay() > 0 && o.getLayerDecay() <= 1, "%s.layer_decay (%s) must be in (0, 1]", p,
        o.getLayerDecay());
  }

  private void schedule(String p, ScheduleConfig s) {
    require(s.getBaseLr() > 0, "%s.base_lr (%s) must be > 0", p, s.getBaseLr());
    require(s.getMinLr() >= 0 && s.getMinLr() <= s.getBaseLr(), "%s.min_lr (%s) must be in [0, base_lr = %s]", p,
        s.getMinLr(), s.getBaseLr());
    require(s.getWarmupEpochs() >= 0 && s.getWarmupSteps() >= 0, "%s: warm-up must be >= 0", p);
    require(s.getDecayLengthFactor() >= 1, "%s.decay_length_factor (%s) must be >= 1", p, s.getDecayLengthFactor());
    require(s.getLrBatchDivisor() >= 0, "%s.lr_batch_divisor (%s) must be >= 0", p, s.getLrBatchDivisor());
  }

  private void training(String p, TrainingConfig t) {
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

  private void teacher(String p, TeacherConfig t) {
    require(!t.getSavedModelDir().isEmpty(), "%s.saved_model_dir is missing (the teacher SavedModel)", p);
    require(!t.getSignature().isEmpty(), "%s.signature is empty", p);
    require(!t.getOutputKey().isEmpty(), "%s.output_key is empty", p);
  }

  // ---- methods --------------------------------------------------------------------------------

  private int grid(Recipe r) {
    ModelConfig m = r.getModel();
    return m.getPatchSize() > 0 ? m.getImageSize() / m.getPatchSize() : 0;
  }

  private void earlyLayer(String field, int layer, ModelConfig m) {
    require(layer >= 1 && layer < m.getDepth(), "%s (%s) must be in [1, model.depth = %s)", field, layer,
        m.getDepth());
  }

  private void ccvit(Recipe r) {
    CcvitConfig c = r.getCcvit();
    int n = grid(r) * grid(r);
    require(r.getMasking().hasBlock(), "ccvit needs masking.block { } (BEiT block-wise masking), got %s",
        r.getMasking().getGeneratorCase());
    if (r.getMasking().hasBlock()) {
      int m = r.getMasking().getBlock().getNumMaskingPatches();
      require(m + c.getNumReplacedPatches() <= n,
          "masked (%s) + ccvit.num_replaced_patches (%s) = %s exceeds the %s patches of the grid", m,
          c.getNumReplacedPatches(), m + c.getNumReplacedPatches(), n);
      require(r.getMasking().getBlock().getExactCount(),
          "ccvit needs masking.block.exact_count: true (its losses assume a fixed count per image)");
    }
    require(c.getNumReplacedPatches() >= 0, "ccvit.num_replaced_patches (%s) must be >= 0", c.getNumReplacedPatches());
    earlyLayer("ccvit.early_layers", c.getEarlyLayers(), r.getModel());
    decoder("ccvit.pixel_head", c.getPixelHead(), r.getModel());
    CcvitConfig.Tokenizer t = c.getTokenizer();
    require(t.getNumCentroids() >= 2, "ccvit.tokenizer.num_centroids (%s) must be >= 2", t.getNumCentroids());
    require(t.getIterations() >= 1, "ccvit.tokenizer.iterations (%s) must be >= 1", t.getIterations());
  }

  private void beitv2(Recipe r) {
    Beitv2Config b = r.getBeitv2();
    require(r.getMasking().hasBlock(), "beitv2 needs masking.block { } (BEiT block-wise masking), got %s",
        r.getMasking().getGeneratorCase());
    earlyLayer("beitv2.early_layers", b.getEarlyLayers(), r.getModel());
    decoder("beitv2.aggregation_head", b.getAggregationHead(), r.getModel());
    Beitv2Config.Vqkd v = b.getTokenizer();
    model("beitv2.tokenizer.encoder", v.getEncoder());
    decoder("beitv2.tokenizer.decoder", v.getDecoder(), v.getEncoder());
    require(v.getEncoder().getImageSize() == r.getModel().getImageSize()
            && v.getEncoder().getPatchSize() == r.getModel().getPatchSize(),
        "beitv2.tokenizer.encoder's patch grid (%s/%s) must match model's (%s/%s): one token per student patch",
        v.getEncoder().getImageSize(), v.getEncoder().getPatchSize(), r.getModel().getImageSize(),
        r.getModel().getPatchSize());
    require(v.getCodebookSize() >= 2, "beitv2.tokenizer.codebook_size (%s) must be >= 2", v.getCodebookSize());
    require(v.getCodebookDim() >= 1, "beitv2.tokenizer.codebook_dim (%s) must be >= 1", v.getCodebookDim());
    ratio("beitv2.tokenizer.ema_decay", v.getEmaDecay());
    if (v.hasTeacher()) {
      teacher("beitv2.tokenizer.teacher", v.getTeacher());
    }
    if (v.hasOptimizer()) {
      optimizer("beitv2.tokenizer.optimizer", v.getOptimizer());
    }
    if (v.hasSchedule()) {
      schedule("beitv2.tokenizer.schedule", v.getSchedule());
    }
    if (v.hasTraining()) {
      training("beitv2.tokenizer.training", v.getTraining());
    }
  }

  private void conmim(Recipe r) {
    ConmimConfig c = r.getConmim();
    require(r.getMasking().hasRandom(), "conmim needs masking.random { } (random masking in units), got %s",
        r.getMasking().getGeneratorCase());
    require(c.getTemperature() > 0, "conmim.temperature (%s) must be > 0", c.getTemperature());
    unitClosed("conmim.teacher_momentum", c.getTeacherMomentum());
    unitClosed("conmim.teacher_momentum_end", c.getTeacherMomentumEnd());
    viewExists(r, "conmim.online_view", c.getOnlineView());
    viewExists(r, "conmim.momentum_view", c.getMomentumView());
    require(c.getProjector().getNumLayers() >= 1, "conmim.projector.num_layers (%s) must be >= 1",
        c.getProjector().getNumLayers());
    require(c.getProjector().getHiddenDim() >= 1 && c.getProjector().getOutputDim() >= 1,
        "conmim.projector.hidden_dim (%s) and output_dim (%s) must be >= 1", c.getProjector().getHiddenDim(),
        c.getProjector().getOutputDim());
    require(c.getProjector().getBatchNormEps() > 0, "conmim.projector.batch_norm_eps (%s) must be > 0",
        c.getProjector().getBatchNormEps());
    // Queries and keys are matched by position: the momentum view must have the online view's crop
    // and flip (conmim.md §2), i.e. be that view or share its geometry.
    if (!c.getMomentumView().equals(c.getOnlineView())) {
      for (var v : r.getData().getViewList()) {
        if (v.getName().equals(c.getMomentumView())) {
          require(v.getGeometryFrom().equals(c.getOnlineView()),
              "conmim.momentum_view \"%s\" must share the online view's crop and flip (set geometry_from: \"%s\" "
                  + "in its data.view), got geometry_from \"%s\"", c.getMomentumView(), c.getOnlineView(),
              v.getGeometryFrom());
        }
      }
    }
  }

  private void moca(Recipe r) {
    MocaConfig c = r.getMoca();
    int g = grid(r);
    require(r.getMasking().hasComplementary(),
        "moca needs masking.complementary { } (two complementary rounds), got %s", r.getMasking().getGeneratorCase());
    require(c.getNumWords() > 0 && c.getNumNewWords() > 0 && c.getNumWords() % c.getNumNewWords() == 0,
        "moca.num_new_words (%s) must divide moca.num_words (%s)", c.getNumNewWords(), c.getNumWords());
    require(c.getBorder() >= 0 && 2 * c.getBorder() < g, "moca.border (%s) leaves no interior on a %sx%s grid",
        c.getBorder(), g, g);
    earlyLayer("moca.early_layer", c.getEarlyLayer(), r.getModel());
    unitClosed("moca.img_loss_weight", c.getImgLossWeight());
    unitClosed("moca.teacher_momentum", c.getTeacherMomentum());
    unitClosed("moca.teacher_momentum_end", c.getTeacherMomentumEnd());
    require(c.getKappa() > 0 && c.getInvDelta() > 0, "moca.kappa (%s) and moca.inv_delta (%s) must be > 0",
        c.getKappa(), c.getInvDelta());
    decoder("moca.decoder", c.getDecoder(), r.getModel());
    require(r.getModel().getRelPosBias() == ModelConfig.RelPosBias.REL_NONE,
        "moca encodes visible tokens only: model.rel_pos_bias must be REL_NONE (got %s)", r.getModel().getRelPosBias());
    require(r.getModel().getAbsPosEmbedding() != ModelConfig.AbsPosEmbedding.ABS_NONE,
        "moca encodes visible tokens only: model.abs_pos_embedding must be SINCOS_2D or LEARNED");
    viewExists(r, "moca.first_view", c.getFirstView());
    viewExists(r, "moca.second_view", c.getSecondView());
    require(!c.getFirstView().equals(c.getSecondView()), "moca.first_view and moca.second_view must differ (both "
        + "\"%s\"): the teacher's bag of words of one view is the target of the other", c.getFirstView());
    int decWidth = c.getDecoder().getWidth() == 0 ? r.getModel().getWidth() : c.getDecoder().getWidth();
    require(decWidth % 4 == 0, "moca.decoder.width (%s) must be divisible by 4 (2-D sin-cos positions)", decWidth);
    // Each tower draws the queue's new words among its own images first (MocaMethod).
    require(r.getTraining().getBatchSize() >= c.getNumNewWords(),
        "training.batch_size (%s) must be at least moca.num_new_words (%s) per device", r.getTraining().getBatchSize(),
        c.getNumNewWords());
  }

  private void smr(Recipe r) {
    SmrConfig s = r.getSmr();
    int n = grid(r) * grid(r);
    require(s.getMergePerBlock() >= 0, "smr.merge_per_block (%s) must be >= 0", s.getMergePerBlock());
    List<Integer> blocks = s.getMergeBlocksList();
    int depth = r.getModel().getDepth();
    for (int i = 0; i < blocks.size(); i++) {
      require(blocks.get(i) >= 1 && blocks.get(i) <= depth, "smr.merge_blocks[%s] (%s) must be in [1, %s]", i,
          blocks.get(i), depth);
    }
    int count = blocks.isEmpty() ? Math.min(4, depth) : blocks.size();
    int removed = count * s.getMergePerBlock();
    require(removed < n, "smr removes %s tokens (%s blocks x merge_per_block %s) but the grid has only %s", removed,
        count, s.getMergePerBlock(), n);
    require(r.getModel().getRelPosBias() == ModelConfig.RelPosBias.REL_NONE,
        "smr merges tokens, which a relative bias cannot follow: model.rel_pos_bias must be REL_NONE (got %s)",
        r.getModel().getRelPosBias());
    require(r.getModel().getAbsPosEmbedding() != ModelConfig.AbsPosEmbedding.ABS_NONE,
        "smr needs an absolute position embedding (model.abs_pos_embedding SINCOS_2D or LEARNED)");
    require(new java.util.HashSet<>(blocks).size() == blocks.size(), "smr.merge_blocks %s names a block twice",
        blocks);
    if (removed < n && blocks.stream().allMatch(b -> b >= 1 && b <= depth)) {
      // every compressing block must remove exactly K tokens (ToMe would silently merge fewer)
      var c = org.mimtf.methods.smr.SmrMethod.compression(s, depth);
      int t = n + 1;
      for (int b = 0; b < depth; b++) {
        if (c.kind() != org.mimtf.nn.reduce.TokenCompression.Kind.NONE && c.blocks().contains(b)) {
          int got = c.removedAt(t);
          require(got == s.getMergePerBlock(), "smr.merge_per_block (%s) is more than block %s can remove from its "
              + "%s tokens with %s (at most %s: bipartite matching merges at most half of the non-CLS tokens, "
              + "fusion and random dropping keep at least one patch token)", s.getMergePerBlock(), b + 1, t,
              s.getReducer(), got);
          t -= got;
        }
      }
    }
    int dw = s.getDecoder().getWidth() == 0 ? r.getModel().getWidth() : s.getDecoder().getWidth();
    require(dw % 4 == 0, "smr.decoder.width (%s) must be divisible by 4 (2-D sin-cos positions)", dw);
    decoder("smr.decoder", s.getDecoder(), r.getModel());
    if (s.getTarget() == SmrConfig.Target.TEACHER_FEATURES) {
      teacher("smr.teacher", s.getTeacher());
    }
  }

  private void viewExists(Recipe r, String field, String name) {
    boolean found = r.getData().getViewList().stream().anyMatch(v -> v.getName().equals(name));
    require(found, "%s (\"%s\") must name a view in data.view (have: %s)", field, name,
        r.getData().getViewList().stream().map(ViewConfig::getName).toList());
  }

  // ---- helpers --------------------------------------------------------------------------------

  private void ratio(String field, float v) {
    require(v >= 0 && v < 1, "%s (%s) must be in [0, 1)", field, v);
  }

  private void unitClosed(String field, float v) {
    require(v >= 0 && v <= 1, "%s (%s) must be in [0, 1]", field, v);
  }

  private void require(boolean ok, String format, Object... args) {
    if (!ok) {
      problems.add(String.format(format, args));
    }
  }
}
