package org.mimtf.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.mimtf.bench.QualityBench.SeedScores;
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
}
