package org.mimtf.config;

import java.util.List;
import org.mimtf.api.RecipeChecks;
import org.mimtf.config.proto.BlockMasking;
import org.mimtf.config.proto.ComplementaryMasking;
import org.mimtf.config.proto.MaskingConfig;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.RandomMasking;
import org.mimtf.config.proto.Recipe;
import org.mimtf.methods.MethodRegistry;

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
    checks.data("data", r.getData(), r.getModel());
    masking(r.getMasking(), r.getModel());
    checks.optimizer("optimizer", r.getOptimizer());
    checks.schedule("schedule", r.getSchedule());
    checks.training("training", r.getTraining());
    org.mimtf.cluster.ClusterValidator.validate("training.cluster", r.getTraining().getCluster())
        .forEach(checks::problem);
    if (r.getEval().hasTrain()) {
      checks.source("eval.train", r.getEval().getTrain(), false);
    }
    if (r.getEval().hasTest()) {
      checks.source("eval.test", r.getEval().getTest(), false);
    }
    require(r.getEval().getKnnK() > 0, "eval.knn_k (%s) must be > 0", r.getEval().getKnnK());
    require(r.getEval().getKnnTemperature() > 0, "eval.knn_temperature (%s) must be > 0",
        r.getEval().getKnnTemperature());
    float vf = r.getEval().getLinearValidationFraction();
    require(vf > 0 && vf < 1, "eval.linear_validation_fraction (%s) must be in (0, 1): the share of eval.train "
        + "held out to choose the probe's weight decay", vf);
    for (int i = 0; i < r.getEval().getLinearWeightDecayGridCount(); i++) {
      float l = r.getEval().getLinearWeightDecayGrid(i);
      require(l >= 0 && Float.isFinite(l), "eval.linear_weight_decay_grid[%s] (%s) must be a finite value >= 0", i, l);
    }
    require(!r.getEval().getLinearSelectWeightDecay()
        || r.getEval().getLinearSolver() == org.mimtf.config.proto.EvalConfig.LinearSolver.LBFGS,
        "eval.linear_select_weight_decay needs eval.linear_solver LBFGS (the search solves each λ to its "
        + "minimiser; a fixed Adam budget would choose among unconverged fits)");
    require(r.getExport().getVersion() > 0, "export.version (%s) must be a positive integer",
        r.getExport().getVersion());
    if (r.getMethodCase() == Recipe.MethodCase.METHOD_NOT_SET) {
      checks.problem("no method: the recipe needs exactly one of " + MethodRegistry.names());
    } else {
      // the method's own rules live in its package (its MethodSpec)
      MethodRegistry.spec(r).validate(r, checks);
    }
    org.mimtf.finetune.FinetuneRecipe.validate(r).forEach(checks::problem);
  }

  // ---- sections -------------------------------------------------------------------------------

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
        int keep1 = c.getNumVisibleFirst();
        int keep2 = c.getNumVisibleSecond();
        int pred = c.getNumPredicted();
        require(keep1 >= 1 && keep2 >= 1, "masking.complementary: each round must leave a visible token (%s and %s "
            + "of %s)", keep1, keep2, n);
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
