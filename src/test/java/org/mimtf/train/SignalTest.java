package org.mimtf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.mimtf.testing.TinyRecipes;

/**
 * SIGINT (Ctrl-C) and SIGTERM (what schedulers and {@code kill} send) finish the step, checkpoint and exit
 * cleanly.
 */
class SignalTest {
  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"INT", "TERM"})
  void signalWritesACheckpointAndExitsCleanly(String signal) throws Exception {
    // A background job of a non-interactive shell (`cmd &` in a script) starts with SIGINT ignored; the
    // child inherits that, and a JVM cannot handle a signal ignored at its start (it honours nohup-like
    // launches). The TERM case still covers the handler there.
    assumeFalse(signal.equals("INT") && isIgnored(2),
        "SIGINT is ignored in this process (started in the background by a script), so in the child too");
    String all = trainAndSignal(List.of(), signal);
    if (!isIgnored(2)) {
      assertTrue(!all.contains("is ignored in this process"), "no warning where SIGINT works: " + all);
    }
  }

  @Test
  void ignoredSigintIsReportedAtStartAndTermStillStopsTheRun() throws Exception {
    // the launch of a script's background job: SIGINT ignored before exec, inherited by the JVM
    String all = trainAndSignal(List.of("/bin/sh", "-c", "trap '' INT; exec \"$0\" \"$@\""), "TERM");
    assertTrue(all.contains("mimtf: SIGINT is ignored in this process"), all);
    assertTrue(all.contains("stop it with kill -TERM "), all);
    assertEquals(1, all.split("is ignored in this process", -1).length - 1, "said once: " + all);
  }

  @Test
  void theWarningNamesTheSignalThatStillStopsTheRun() {
    long pid = ProcessHandle.current().pid();
    assertTrue(Signals.ignoredWarning(List.of("INT")).contains("SIGINT is ignored in this process"));
    assertTrue(Signals.ignoredWarning(List.of("INT")).contains("stop it with kill -TERM " + pid + " "));
    assertTrue(Signals.ignoredWarning(List.of("TERM")).contains("stop it with kill -INT " + pid + " "));
    String both = Signals.ignoredWarning(List.of("INT", "TERM"));
    assertTrue(both.startsWith("mimtf: SIGINT and SIGTERM are ignored"), both);
    assertTrue(both.contains("kill -KILL " + pid + " stops it, losing the steps since the last checkpoint"), both);
  }

  /**
   * Starts a tiny CCViT pre-training ({@code prefix} before the java command), sends {@code SIG<signal>}
   * at step 3 and checks the clean stop: exit 0, the interrupted JSON line, a checkpoint of step ≥ 3.
   * Returns the run's output.
   */
  private String trainAndSignal(List<String> prefix, String signal) throws Exception {
    TinyRecipes.writeRandomCentroids(dir.resolve("tok"), 16, 16, 5);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(List.of(java, "-cp", System.getProperty("java.class.path"),
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
          new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
          signalled = true;
        } else if (line.startsWith("step 1000/")) {
          p.destroyForcibly();
          fail("SIG" + signal + " sent at step 3 was not handled: the run went on to step 1000");
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
    return all;
  }

  /** Whether signal {@code number} is ignored in this process (Linux: the SigIgn mask in /proc/self/status). */
  private static boolean isIgnored(int number) throws Exception {
    Path status = Path.of("/proc/self/status");
    if (!Files.exists(status)) {
      return false;
    }
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith("SigIgn:")) {
        long mask = Long.parseUnsignedLong(line.substring("SigIgn:".length()).trim(), 16);
        return (mask >>> (number - 1) & 1) != 0;
      }
    }
    return false;
  }
}
