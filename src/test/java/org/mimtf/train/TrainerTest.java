package org.mimtf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.Recipe;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.util.UserException;

class TrainerTest {
  @TempDir Path dir;

  private static PrintStream quiet() {
    return new PrintStream(new ByteArrayOutputStream());
  }

  @Test
  void resumeReproducesTheLossSequenceOfAnUninterruptedRun() throws Exception {
    Recipe full = TinyRecipes.ccvit(dir.resolve("a"), 6);
    new Trainer(full, MethodRegistry.create(full), false, quiet()).run();
    List<Double> reference = TinyRecipes.losses(dir.resolve("a/run"));
    assertEquals(6, reference.size());

    Recipe split = TinyRecipes.ccvit(dir.resolve("b"), 6);
    Trainer.Summary first = new Trainer(split, MethodRegistry.create(split), false, quiet()).stopAfter(3).run();
    assertTrue(first.interrupted());
    assertEquals(3, first.step());
    Trainer.Summary second = new Trainer(split, MethodRegistry.create(split), true, quiet()).run();
    assertEquals(6, second.step());
    List<Double> resumed = TinyRecipes.losses(dir.resolve("b/run"));
    assertEquals(6, resumed.size());
    for (int i = 0; i < 6; i++) {
      assertEquals(reference.get(i), resumed.get(i), 1e-5 * Math.abs(reference.get(i)),
          "loss of step " + (i + 1) + " after resuming at step 3");
    }
  }

  @Test
  void aRunDirectoryWithCheckpointsIsNotOverwrittenWithoutResume() throws Exception {
    Recipe r = TinyRecipes.ccvit(dir, 2);
    new Trainer(r, MethodRegistry.create(r), false, quiet()).run();
    UserException e = assertThrows(UserException.class, () -> new Trainer(r, MethodRegistry.create(r), false, quiet()).run());
    assertTrue(e.getMessage().contains("already has checkpoints"), e.getMessage());
    assertTrue(e.getMessage().contains("--resume"), e.getMessage());
  }

  @Test
  void aNonFiniteLossStopsTheRunNamingStepAndTermAndKeepsTheLastGoodCheckpoint() throws Exception {
    Recipe r = TinyRecipes.ccvit(dir, 30, "schedule.base_lr=1e20", "schedule.min_lr=1e19",
        "training.checkpoint_every_steps=1", "optimizer.clip_grad_norm=0");
    Trainer.NonFiniteLossException e = assertThrows(Trainer.NonFiniteLossException.class,
        () -> new Trainer(r, MethodRegistry.create(r), false, quiet()).run());
    assertTrue(e.getMessage().matches("(?s)non-finite value at step \\d+: .*(loss|token_ce|pixel_mse).*"), e.getMessage());
    int bad = Integer.parseInt(e.getMessage().replaceAll("(?s)non-finite value at step (\\d+):.*", "$1"));
    Path latest = new Checkpoints(dir.resolve("run/checkpoints"), 3).latest().orElseThrow();
    assertEquals(bad - 1, Checkpoints.stepOf(latest), "the checkpoint of the last finite step is kept");
    assertTrue(Files.exists(Path.of(latest + ".index")));
  }
}
