package org.mimtf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.ScheduleConfig;

class SchedulesTest {
  @Test
  void warmupIsALinspaceIncludingBothEnds() {
    var s = Schedules.warmupCosine(1.0, 0.0, 5, 100, 100);
    assertEquals(0.0, s.at(0), 1e-12);
    assertEquals(0.25, s.at(1), 1e-12);
    assertEquals(1.0, s.at(4), 1e-12, "the peak is reached on the last warm-up step");
    assertEquals(1.0, s.at(5), 1e-12, "the cosine starts at the peak");
  }

  @Test
  void cosineDecaysToTheMinimumAtTheEnd() {
    var s = Schedules.warmupCosine(2.0, 0.5, 0, 11, 11);
    assertEquals(2.0, s.at(0), 1e-12);
    assertEquals(0.5 + 0.5 * 1.5 * (1 + Math.cos(Math.PI * 5 / 11)), s.at(5), 1e-12);
    assertEquals(0.5 + 0.5 * 1.5 * (1 + Math.cos(Math.PI * 10 / 11)), s.at(10), 1e-12);
  }

  @Test
  void stretchedCosineEndsTrainingAboveTheMinimum() {
    // MOCA: the cosine reaches its minimum at 1.25x the training length.
    var s = Schedules.warmupCosine(1.0, 0.0, 0, 100, 125);
    assertEquals(0.5 * (1 + Math.cos(Math.PI * 99 / 125)), s.at(99), 1e-12);
  }

  @Test
  void momentumRisesFromM0ToOne() {
    var m = Schedules.momentum(0.996, 1.0, 1000);
    assertEquals(0.996, m.at(0), 1e-12);
    assertEquals(0.998, m.at(500), 1e-12);
    assertEquals(1.0, m.at(1000), 1e-12);
  }

  @Test
  void recipeScheduleScalesWithBatchAndConvertsWarmupEpochs() {
    ScheduleConfig c = ScheduleConfig.newBuilder().setBaseLr(1.5e-4f).setLrBatchDivisor(256).setMinLr(0)
        .setWarmupEpochs(2).build();
    var s = Schedules.learningRate(c, 100, 10, 2048);
    assertEquals(20, Schedules.warmupSteps(c, 10));
    assertEquals(1.5e-4 * 8, s.at(19), 1e-9);
  }
}
