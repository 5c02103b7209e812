package org.mimtf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.testing.TinyRecipes;

/** SIGINT (Ctrl-C) finishes the step, checkpoints and exits cleanly; SIGTERM takes the same path. */
class SignalTest {
  @TempDir Path dir;

  @Test
  void sigintWritesACheckpointAndExitsCleanly() throws Exception {
    TinyRecipes.writeRandomCentroids(dir.resolve("tok"), 16, 16, 5);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
        "org.mimtf.cli.Mimtf", "pretrain", "--recipe",
        TinyRecipes.repoRoot().resolve("graphs/ccvit_fmnist_small.pbtxt").toString(), "--no-export",
        "--set", "model.width=32", "--set", "model.depth=2", "--set", "model.num_heads=2",
        "--set", "ccvit.early_layers=1", "--set", "ccvit.pixel_head.depth=1",
        "--set", "ccvit.tokenizer.num_centroids=16", "--set", "ccvit.tokenizer.dir=" + dir.resolve("tok"),
        "--set", "training.batch_size=8", "--set", "training.steps=100000", "--set", "training.log_every_steps=1",
        "--set", "training.checkpoint_every_steps=100000", "--set", "training.run_dir=" + dir.resolve("run")));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process p = pb.start();
    List<String> out = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      boolean signalled = false;
      while ((line = r.readLine()) != null) {
        out.add(line);
        if (!signalled && line.startsWith("step 3/")) {
          new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
          signalled = true;
        }
      }
    }
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the process ends");
    assertEquals(0, p.exitValue(), String.join("\n", out));
    String all = String.join("\n", out);
    assertTrue(all.contains("stopped by signal at step"), all);
    assertTrue(all.contains("\"interrupted\":true"), all);
    long step = Checkpoints.stepOf(new Checkpoints(dir.resolve("run/checkpoints"), 3).latest().orElseThrow());
    assertTrue(step >= 3, "checkpoint of the step the signal interrupted, got " + step);
  }
}
