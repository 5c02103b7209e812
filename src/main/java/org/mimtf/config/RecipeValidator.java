package org.mimtf.config;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.mimtf.config.proto.Augmentation;
import org.mimtf.config.proto.BlockMasking;
import org.mimtf.config.proto.ComplementaryMasking;
import org.mimtf.config.proto.DataConfig;
import org.mimtf.config.proto.MaskingConfig;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.RandomMasking;
import org.mimtf.config.proto.RandomResizedCrop;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.config.proto.ViewConfig;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.methods.api.RecipeChecks;

/**
 * Checks that a resolved recipe's values fit together, collecting every problem rather than stopping
 * at the first. Each problem names the field as written in the pbtxt, shows the value and says what
 * was expected, e.g. {@code model.patch_size (5) must divide model.image_size (28)}.
 *
 * <p>This class checks the recipe-wide sections (model, data, masking, optimizer, schedule,
 * training, eval, export); the rules of a method's own section are its {@code MethodSpec}'s, found
 * through {@link MethodRegistry}, and run on the same {@link RecipeChecks}.
 *
 * <p>Only facts knowable from the recipe are checked here; whether files exist is checked when they are
 * opened (a recipe may name an artifact that an earlier stage has not produced yet).
 */
public final class RecipeValidator {
  private final RecipeChecks checks = new RecipeChecks();

  private RecipeValidator() {}

  /** Returns the problems of a resolved recipe; empty when it is valid. */
  public static List<String> validate(Recipe r) {
    RecipeValidator v = new RecipeValidator();
    v.check(r);
    return v.checks.problems();
  }

  private void check(Recipe r) {
    checks.model("model", r.getModel());
    data("data", r.getData(), r.getModel());
    masking(r.getMasking(), r.getModel());
    checks.optimizer("optimizer", r.getOptimizer());
    checks.schedule("schedule", r.getSchedule());
    checks.training("training", r.getTraining());
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
    if (r.getMethodCase() == Recipe.MethodCase.METHOD_NOT_SET) {
      checks.problem("no method: the recipe needs exactly one of " + MethodRegistry.names());
    } else {
      // the method's own rules live in its package (its MethodSpec)
      MethodRegistry.spec(r).validate(r, checks);
    }
  }

  // ---- sections -------------------------------------------------------------------------------

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
          checks.problem(String.format("%s: a view with geometry_from takes its crop and flip from view \"%s\"; "
              + "it may only list photometric ops", ap, v.getGeometryFrom()));
        }
        if (geometric && photometricSeen) {
          checks.problem(ap + ": geometric ops (crop, resize, flip) must come before photometric ones");
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
      case OP_NOT_SET -> checks.problem(p + ": empty augmentation (expected one op such as random_resized_crop { })");
    }
  }

  private void source(String p, SourceConfig s, boolean needed) {
    if (s.getKind() == SourceConfig.Kind.KIND_UNSET) {
      if (needed) {
        checks.problem(p + ".kind is not set (expected IDX, IMAGE_FOLDER, TFRECORD or SYNTHETIC)");
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

  // ---- helpers --------------------------------------------------------------------------------

  private void ratio(String field, float v) {
    checks.ratio(field, v);
  }

  private void unitClosed(String field, float v) {
    checks.unitClosed(field, v);
  }

  private void require(boolean ok, String format, Object... args) {
    checks.require(ok, format, args);
  }
}
