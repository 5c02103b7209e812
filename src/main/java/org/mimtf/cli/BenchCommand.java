package org.mimtf.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.bench.KMeansBench;
import org.mimtf.bench.StepBench;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.nn.Compute;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mimtf bench step|kmeans} (also {@code scripts/bench}): figures, last line JSON. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks; the last line is JSON.",
    subcommands = {BenchCommand.Step.class, BenchCommand.Kmeans.class, BenchCommand.Quality.class})
final class BenchCommand implements Runnable {
  @Override
  public void run() {
    new picocli.CommandLine(this).usage(System.out);
  }

  @Command(name = "step", mixinStandardHelpOptions = true,
      description = "ms/step of masked-token prediction (ViT + mask token + head to 1024 + CE), forward+backward+AdamW.")
  static final class Step implements Runnable {
    @Parameters(paramLabel = "CONFIG", description = "cpu-s (32x32, patch 4, 192x6, batch 64) or cpu-m (64x64, "
        + "patch 8, 384x6, batch 32).")
    String config;

    @Option(names = "--steps", description = "Timed steps, default ${DEFAULT-VALUE}.")
    int steps = 30;

    @Option(names = "--warmup", description = "Untimed steps first, default ${DEFAULT-VALUE}.")
    int warmup = 5;

    @Option(names = "--xla", description = "XLA JIT (also needs TF_XLA_FLAGS=--tf_xla_cpu_global_jit on CPU).")
    boolean xla;

    @Option(names = "--intra", description = "Intra-op threads (0 = TF default).")
    int intra;

    @Option(names = "--inter", description = "Inter-op threads (0 = TF default).")
    int inter;

    @Option(names = "--precision", description = "fp32, bf16 or fp16, default ${DEFAULT-VALUE}.")
    String precision = "fp32";

    @Option(names = "--devices", description = "As training.devices: auto, cpu, a count or a list "
        + "(default ${DEFAULT-VALUE}).")
    String devices = "auto";

    @Override
    public void run() {
      TrainingConfig t = TrainingConfig.newBuilder().setXla(xla).setIntraOpThreads(intra).setInterOpThreads(inter)
          .setDevices(devices).build();
      Compute.Precision p;
      try {
        p = Compute.Precision.valueOf(precision.toUpperCase());
      } catch (IllegalArgumentException e) {
        throw new UserException("--precision " + precision + ": expected fp32, bf16 or fp16");
      }
      System.out.println(StepBench.run(StepBench.named(config), warmup, steps, t, p, System.out));
    }
  }

  @Command(name = "quality", mixinStandardHelpOptions = true,
      description = "Pre-train METHOD's small recipe on the full Fashion-MNIST (60k) for --steps, then k-NN and "
          + "linear probes on the 10k test set vs random initialisation and raw pixels.")
  static final class Quality implements Runnable {
    @Parameters(paramLabel = "METHOD", defaultValue = "ccvit", description = "Method (default ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--steps", description = "Pre-training steps, default ${DEFAULT-VALUE}.")
    int steps = 2000;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST folder, default ${DEFAULT-VALUE}.")
    Path data = Path.of("/usr/share/datasets/fashion-mnist");

    @Option(names = "--set", paramLabel = "PATH=VALUE", description = "Override a recipe field (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--variant", paramLabel = "NAME:PATH=VALUE[;...]", description = "Also pre-train and probe "
        + "with these overrides (repeatable). SMR default: rd:smr.reducer=RANDOM_DROPPING (the paper's TM vs RD).")
    List<String> variants = new ArrayList<>();

    @Option(names = "--no-variants", description = "Skip the default variants.")
    boolean noVariants;

    @Option(names = "--speed", paramLabel = "SETTINGS", split = ",", description = "SMR: time SMR's training step "
        + "against BEiT v2's at the same size: fmnist_small, vit_b16 (default both; 'none' skips).")
    List<String> speed = new ArrayList<>();

    @Override
    public void run() {
      if (method.equals("smr")) {
        if (variants.isEmpty() && !noVariants) {
          variants.add("rd:smr.reducer=RANDOM_DROPPING");
        }
        if (speed.isEmpty()) {
          speed.addAll(List.of("fmnist_small", "vit_b16"));
        }
      }
      speed.remove("none");
      if (!java.nio.file.Files.exists(data.resolve("train-images-idx3-ubyte.gz"))) {
        throw new UserException(data + " has no train-images-idx3-ubyte.gz: install Debian's dataset-fashion-mnist "
            + "(apt-get install dataset-fashion-mnist) or pass --data");
      }
      System.out.println(org.mimtf.bench.QualityBench.run(method, Path.of("graphs"), data, steps, overrides,
          noVariants ? List.of() : variants, speed, System.out));
    }
  }

  @Command(name = "kmeans", mixinStandardHelpOptions = true,
      description = "k-means time, objective and assignment throughput: 'fmnist' (K=512, 490k 16-d patches), "
          + "'random' (K=1024, 200k 768-d N(0,1)), or 'all'.")
  static final class Kmeans implements Runnable {
    @Parameters(paramLabel = "WORKLOAD", defaultValue = "all", description = "fmnist, random or all.")
    String workload;

    @Option(names = "--fmnist", paramLabel = "FILE", description = "Fashion-MNIST training images (IDX, gz).")
    Path fmnist = Path.of("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");

    @Option(names = "--iterations", description = "Default ${DEFAULT-VALUE}.")
    int iterations = 20;

    @Override
    public void run() {
      List<Object> results = new ArrayList<>();
      if (workload.equals("fmnist") || workload.equals("all")) {
        if (!java.nio.file.Files.exists(fmnist)) {
          throw new UserException(fmnist + " not found: install Debian's dataset-fashion-mnist or pass --fmnist");
        }
        float[] p = KMeansBench.fashionPatches(fmnist, 10_000);
        results.add(KMeansBench.run("fmnist-4x4", p, p.length / 16, 16, 512, iterations, System.out).asMap());
      }
      if (workload.equals("random") || workload.equals("all")) {
        float[] g = KMeansBench.gaussian(200_000, 768, 1);
        results.add(KMeansBench.run("gaussian-768", g, 200_000, 768, 1024, iterations, System.out).asMap());
      }
      if (results.isEmpty()) {
        throw new UserException("unknown workload '" + workload + "' (expected fmnist, random or all)");
      }
      System.out.println(Json.obj().put("bench", "kmeans").put("results", results));
    }
  }
}
