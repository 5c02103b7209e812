package org.mimtf.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mimtf.bench.QualityBench.Ablation;
import org.mimtf.bench.QualityBench.SeedScores;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.EvalConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.util.UserException;

/** {@code bench quality --seeds N}: means, spreads and the "sign shown beyond the spread" rule. */
class QualityBenchSeedsTest {
  @Test
  void meansAndSpreadsOverSeeds() {
    SeedScores s = new SeedScores(List.of(0.70, 0.74), List.of(0.60, 0.61));
    assertEquals(0.72, s.knnMean(), 1e-12);
    assertEquals(0.04, s.knnSpread(), 1e-12);
    assertEquals(0.605, s.linearMean(), 1e-12);
    assertEquals(0.01, s.linearSpread(), 1e-12);
  }

  @Test
  void signNeedsAGapLargerThanEitherSpread() {
    SeedScores def = new SeedScores(List.of(0.70, 0.74), List.of(0.60, 0.61));
    // k-NN gap 0.72 - 0.67 = 0.05 > max spread 0.04: shown; linear gap 0.605 - 0.59 = 0.015 < 0.03: not
    SeedScores abl = new SeedScores(List.of(0.66, 0.68), List.of(0.575, 0.605));
    assertTrue(def.signShown(abl, true));
    assertFalse(def.signShown(abl, false));
    // the other way round the gap is negative: never shown
    assertFalse(abl.signShown(def, true));
    // one seed: no spread, any positive gap counts
    assertTrue(new SeedScores(List.of(0.5), List.of(0.5)).signShown(new SeedScores(List.of(0.49), List.of(0.5)), true));
  }

  @Test
  void zeroSeedsIsAUserError() {
    UserException e = assertThrows(UserException.class, () -> QualityBench.run("ccvit", Path.of("graphs"),
        Path.of("/nonexistent"), 10, List.of(), List.of(), 0, System.out));
    assertTrue(e.getMessage().contains("--seeds 0"), e.getMessage());
  }

  @Test
  void everyBuiltInAblationAppliesToItsMethodsRecipes() {
    for (Ablation a : QualityBench.ABLATIONS) {
      for (String variant : List.of(QualityBench.SMALL, QualityBench.REFERENCE)) {
        Path recipe = Path.of("graphs", a.method() + "_fmnist_" + variant + ".pbtxt");
        // loads and validates (a mistyped path or value is a UserException) and changes the recipe
        Recipe r = RecipeLoader.load(recipe, a.overrides());
        assertEquals(a.method(), r.getMethodCase().name().toLowerCase(), a.name() + " on " + recipe);
        assertNotEquals(RecipeLoader.load(recipe, List.of()), r, a.name() + " on " + recipe + " changes nothing");
      }
    }
  }

  @Test
  void beitV2WithoutAggregationIsProbedOnThePatchMeanAsThePaper() {
    // BEiT v2 section 3.2: the mean of the patch tokens without the head, the CLS token with it
    Path recipe = Path.of("graphs/beitv2_fmnist_ref.pbtxt");
    Recipe def = RecipeLoader.load(recipe, List.of());
    Recipe abl = RecipeLoader.load(recipe, QualityBench.ablation("beitv2", "no-aggregation").overrides());
    assertEquals(EvalConfig.Feature.CLS, def.getEval().getFeature());
    assertTrue(def.getBeitv2().getUseAggregation());
    assertEquals(EvalConfig.Feature.AVG_POOL, abl.getEval().getFeature());
    assertFalse(abl.getBeitv2().getUseAggregation());
  }
}
