package org.mimtf.cli;

import java.nio.file.Path;
import org.mimtf.bench.StepBench;
import org.mimtf.bench.ClusterBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bench cluster}: the step in 1..N processes on loopback vs towers in one process. */
@Command(name = "cluster", mixinStandardHelpOptions = true,
    description = "ms/step and images/s of the step configuration with its towers in 1, 2, 3 processes on "
        + "127.0.0.1 (same global batch) vs the same towers in one process, and bytes sent between tasks per step.")
final class ClusterBenchCommand implements Runnable {
  @Option(names = "--config", description = "cpu-s or cpu-m, default ${DEFAULT-VALUE}.")
  String config = "cpu-s";

  @Option(names = "--batch", description = "Global batch, split over all towers (divisible by 1..--processes), "
      + "default ${DEFAULT-VALUE}.")
  int batch = 48;

  @Option(names = "--processes", description = "Up to this many processes, default ${DEFAULT-VALUE}.")
  int processes = 3;

  @Option(names = "--steps", description = "Timed steps, default ${DEFAULT-VALUE}.")
  int steps = 10;

  @Option(names = "--warmup", description = "Untimed steps first, default ${DEFAULT-VALUE}.")
  int warmup = 3;

  @Option(names = "--recipe", description = "A valid recipe for the worker processes (only its session "
      + "settings matter), default ${DEFAULT-VALUE}.")
  Path recipe = Path.of("graphs/conmim_fmnist_small.pbtxt");

  @Override
  public void run() {
    try {
      System.out.println(ClusterBench.run(StepBench.named(config), batch, processes, warmup, steps, recipe, System.out));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
