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

/** {@code mimtf bench step|kmeans|quality|method-step|smr-speed} (also {@code scripts/bench}): figures, last line JSON. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks; the last line is JSON.",
    subcommands = {BenchCommand.Step.class, BenchCommand.GemmGrad.class, BenchCommand.Kmeans.class, BenchCommand.Quality.class,
        BenchCommand.MethodStep.class, BenchCommand.SmrSpeed.class, ClusterBenchCommand.class,
        BenchCommand.Finetune.class})
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

    @Option(names = "--model", description = "beit (BEiT's pre-training ViT: relative position bias, q/v biases, "
        + "layer scale) or peer (the PyTorch peer's plain ViT, shared/peer/vit.py), default ${DEFAULT-VALUE}.")
    String model = "beit";

    @Option(names = "--rewriter", paramLabel = "FIELD=on|off,...", description = "Grappler RewriterConfig toggles "
        + "for this run, e.g. remapping=off or auto_mixed_precision_onednn_bfloat16=on.")
    String rewriter = "";

    @Option(names = "--fused-layer-norm", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "LayerNorm (and the residual step before it) as one kernel with a closed-form gradient "
        + "(training.fused_layer_norm, on by default; --no-fused-layer-norm: the composite ops).")
    boolean fusedLayerNorm;

    @Option(names = "--fused-bias-gelu", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "The MLP's bias + GELU as one native kernel (training.fused_bias_gelu, on by default).")
    boolean fusedBiasGelu;

    @Option(names = "--onednn-batch-products", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "Attention's batched products as oneDNN's kernel (training.onednn_batch_products, on by "
        + "default).")
    boolean oneDnnBatchProducts;

    @Option(names = "--fused", description = "All three on (the default; kept for scripts).")
    boolean fused;

    @Option(names = "--composite", description = "All three off: TF's composite ops, as every recipe before "
        + "2026-12-08 (a before/after row).")
    boolean composite;

    @Option(names = "--profile", description = "Instead of timing: trace --steps steps (after --warmup) with TF's "
        + "step stats and print the time by model part (forward/backward) and by executed op type.")
    boolean profile;

    @Override
    public void run() {
      TrainingConfig t = TrainingConfig.newBuilder().setXla(xla).setIntraOpThreads(intra).setInterOpThreads(inter)
          .setDevices(devices).setFusedLayerNorm((fusedLayerNorm || fused) && !composite)
          .setFusedBiasGelu((fusedBiasGelu || fused) && !composite)
          .setOnednnBatchProducts((oneDnnBatchProducts || fused) && !composite).build();
      Compute.Precision p;
      try {
        p = Compute.Precision.valueOf(precision.toUpperCase());
      } catch (IllegalArgumentException e) {
        throw new UserException("--precision " + precision + ": expected fp32, bf16 or fp16");
      }
      if (!model.equals("beit") && !model.equals("peer")) {
        throw new UserException("--model " + model + ": expected beit or peer");
      }
      boolean peerModel = model.equals("peer");
      if (profile) {
        System.out.println(org.mimtf.bench.StepProfile.run(StepBench.named(config), peerModel, warmup, steps, t, p,
            rewriter, System.out));
        return;
      }
      System.out.println(StepBench.run(StepBench.named(config), peerModel, warmup, steps, t, p, rewriter, System.out));
    }
  }

  @Command(name = "quality", mixinStandardHelpOptions = true,
      description = "Pre-train METHOD's small recipe on the full Fashion-MNIST (60k) for --steps (or its reference "
          + "recipe with --reference), then k-NN and linear probes on the 10k test set vs random initialisation and "
          + "raw pixels.")
  static final class Quality implements Runnable {
    @Parameters(paramLabel = "METHOD", defaultValue = "ccvit", description = "Method (default ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--steps", description = "Pre-training steps (default 2000 for the small recipe, the recipe's "
        + "own with --reference).")
    Integer steps;

    @Option(names = "--reference", description = "Run graphs/METHOD_fmnist_ref.pbtxt, the method's reference recipe "
        + "(the small recipe refined for the full 60k within 45 minutes on 2 cores), instead of the small recipe.")
    boolean reference;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST folder, default ${DEFAULT-VALUE}.")
    Path data = Path.of("/usr/share/datasets/fashion-mnist");

    @Option(names = "--set", paramLabel = "PATH=VALUE", description = "Override a recipe field (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--ablation", paramLabel = "NAME", description = "Also pre-train a paper ablation with the "
        + "same budget and report its scores against the default (repeatable): beitv2 no-aggregation, unshared-head; "
        + "conmim momentum0, symmetric; moca lambda1, lambda0; smr rd, late-blocks; or NAME:PATH=VALUE[;PATH=VALUE...] "
        + "for one of your own.")
    List<String> ablations = new ArrayList<>();

    @Option(names = "--seeds", description = "Pre-train the default and each ablation with training.seed 0..N-1 and "
        + "report means, spreads and whether each ablation's gap exceeds the spread (default ${DEFAULT-VALUE}: the "
        + "recipe's seed).")
    int seeds = 1;

    @Override
    public void run() {
      for (String a : ablations) {
        org.mimtf.bench.QualityBench.ablation(method, a); // fails early on an unknown name
      }
      if (!java.nio.file.Files.exists(data.resolve("train-images-idx3-ubyte.gz"))) {
        throw new UserException(data + " has no train-images-idx3-ubyte.gz: install Debian's dataset-fashion-mnist "
            + "(apt-get install dataset-fashion-mnist) or pass --data");
      }
      int n = steps != null ? steps : reference ? 0 : 2000;
      System.out.println(org.mimtf.bench.QualityBench.run(method, Path.of("graphs"),
          reference ? org.mimtf.bench.QualityBench.REFERENCE : org.mimtf.bench.QualityBench.SMALL, data, n, overrides,
          ablations, seeds, System.out));
    }
  }

  @Command(name = "finetune", mixinStandardHelpOptions = true,
      description = "Fine-tune METHOD's small recipe on the full Fashion-MNIST from its pre-trained encoder and from "
          + "random init with the identical recipe and budget; prints both top-1s and the gap.")
  static final class Finetune implements Runnable {
    @Parameters(paramLabel = "METHOD", defaultValue = "ccvit", description = "Method (default ${DEFAULT-VALUE}).")
    String method;

    @Option(names = "--encoder", paramLabel = "DIR", description = "Pre-trained encoder: SavedModel, run dir or "
        + "checkpoint (default savedmodels/<METHOD>_fmnist_small/1, the quickstart's export; the quickstart runs "
        + "first when it is missing).")
    Path encoder;

    @Option(names = "--steps", description = "Fine-tuning steps of each run, default ${DEFAULT-VALUE}.")
    int steps = 600;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST folder, default ${DEFAULT-VALUE}.")
    Path data = Path.of("/usr/share/datasets/fashion-mnist");

    @Option(names = "--set", paramLabel = "PATH=VALUE", description = "Override a recipe field (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Override
    public void run() {
      if (!java.nio.file.Files.exists(data.resolve("train-images-idx3-ubyte.gz"))) {
        throw new UserException(data + " has no train-images-idx3-ubyte.gz: install Debian's dataset-fashion-mnist "
            + "(apt-get install dataset-fashion-mnist) or pass --data");
      }
      System.out.println(org.mimtf.bench.FinetuneBench.run(method, Path.of("graphs"), data, encoder, steps, overrides,
          System.out));
    }
  }

  @Command(name = "method-step", mixinStandardHelpOptions = true,
      description = "ms per training step of recipes' methods on one real batch fed repeatedly (batch models such "
          + "as BEiT v2's tokenizer included, input pipeline not); with several recipes, the ratio of the first to "
          + "each other (e.g. conmim_fmnist_small vs beitv2_fmnist_small, same model size).")
  static final class MethodStep implements Runnable {
    @Parameters(paramLabel = "RECIPE", arity = "1..*", description = "Recipe files.")
    List<Path> recipes;

    @Option(names = "--steps", description = "Timed steps, default ${DEFAULT-VALUE}.")
    int steps = 20;

    @Option(names = "--warmup", description = "Untimed steps first, default ${DEFAULT-VALUE}.")
    int warmup = 3;

    @Option(names = "--set", paramLabel = "PATH=VALUE", description = "Override a field of every recipe "
        + "(repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--profile", paramLabel = "N", description = "Then trace N more steps (TF step stats) and "
        + "print their kernel time by op type and by name scope, forward and backward apart (default 0: off).")
    int profile = 0;

    @Override
    public void run() {
      List<Object> results = new ArrayList<>();
      List<Double> ms = new ArrayList<>();
      for (Path p : recipes) {
        var r = org.mimtf.config.RecipeLoader.load(p, overrides);
        Json.Obj j = org.mimtf.bench.MethodStepBench.run(r, warmup, steps, profile, System.out);
        ms.add((Double) j.asMap().get("ms_per_step"));
        results.add(j.asMap());
      }
      Json.Obj out = Json.obj().put("bench", "method-step").put("results", results);
      if (ms.size() > 1) {
        List<Object> ratios = new ArrayList<>();
        for (int i = 1; i < ms.size(); i++) {
          ratios.add(ms.get(0) / ms.get(i));
          System.out.printf("time per step: %s / %s = %.2fx%n", recipes.get(0).getFileName(),
              recipes.get(i).getFileName(), ms.get(0) / ms.get(i));
        }
        out.put("ratio_first_to_others", ratios);
      }
      System.out.println(out);
    }
  }

  @Command(name = "smr-speed", mixinStandardHelpOptions = true,
      description = "SMR's speed claim (15-20%% faster than BEiT): ms per student training step of SMR against "
          + "BEiT v2 at the same encoder size on synthetic batches, alternating rounds; fmnist_small, vit_b16 or all.")
  static final class SmrSpeed implements Runnable {
    @Parameters(paramLabel = "SETTING", defaultValue = "all", description = "fmnist_small, vit_b16 or all.")
    String setting;

    @Option(names = "--rounds", description = "Timed rounds after one warm-up round, default ${DEFAULT-VALUE}.")
    int rounds = 3;

    @Override
    public void run() {
      List<Object> results = new ArrayList<>();
      if (setting.equals("fmnist_small") || setting.equals("all")) {
        results.add(org.mimtf.bench.SmrSpeedBench.run(Path.of("graphs"), org.mimtf.bench.SmrSpeedBench.FMNIST_SMALL,
            rounds, 5, System.out).asMap());
      }
      if (setting.equals("vit_b16") || setting.equals("all")) {
        results.add(org.mimtf.bench.SmrSpeedBench.run(Path.of("graphs"), org.mimtf.bench.SmrSpeedBench.VIT_B16,
            rounds, 2, System.out).asMap());
      }
      if (results.isEmpty()) {
        throw new UserException("unknown setting '" + setting + "' (expected fmnist_small, vit_b16 or all)");
      }
      System.out.println(Json.obj().put("bench", "smr-speed").put("results", results));
    }
  }

  @Command(name = "gemm-grad", mixinStandardHelpOptions = true,
      description = "A dense layer's three training products timed apart (forward X·W, dX = dY·Wᵀ, dW = Xᵀ·dY, "
          + "and two other forms of dW), medians of alternating rounds; default: cpu-s's MLP fc1 (B·T = 64·65 "
          + "rows, 192 -> 768).")
  static final class GemmGrad implements Runnable {
    @Parameters(index = "0", arity = "0..1", paramLabel = "ROWS", defaultValue = "4160", description = "B·T rows.")
    int rows;

    @Parameters(index = "1", arity = "0..1", paramLabel = "IN", defaultValue = "192", description = "Input features.")
    int in;

    @Parameters(index = "2", arity = "0..1", paramLabel = "OUT", defaultValue = "768", description = "Output features.")
    int out;

    @Option(names = "--rounds", description = "Timed rounds, default ${DEFAULT-VALUE}.")
    int rounds = 30;

    @Override
    public void run() {
      if (rows < 1 || in < 1 || out < 1 || rounds < 1) {
        throw new UserException("gemm-grad: ROWS, IN, OUT and --rounds must be >= 1 (got " + rows + ", " + in + ", "
            + out + ", " + rounds + ")");
      }
      System.out.println(org.mimtf.bench.GemmGradBench.run(rows, in, out, rounds, System.out));
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
