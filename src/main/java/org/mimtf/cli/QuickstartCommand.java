package org.mimtf.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.proto.Recipe;
import org.mimtf.stages.Quickstart;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mimtf quickstart [METHOD]}: the bundled demo, end to end on the Fashion-MNIST subset — the
 * method's earlier stage (CCViT: k-means tokenizer), a small pre-training run, export, and k-NN and
 * linear probes of the pre-trained encoder against the same architecture at random initialisation.
 */
@Command(name = "quickstart", mixinStandardHelpOptions = true,
    description = "Tokenizer (if any) + small pre-training + export + k-NN/linear evaluation vs random init, "
        + "on the bundled Fashion-MNIST subset (graphs/<METHOD>_fmnist_small.pbtxt).")
final class QuickstartCommand implements Runnable {
  @Parameters(paramLabel = "METHOD", defaultValue = "ccvit", description = "ccvit (default), beitv2, conmim, moca or smr.")
  String method;

  @Option(names = "--set", paramLabel = "PATH=VALUE", description = "Override a recipe field (repeatable).")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--graphs", paramLabel = "DIR", description = "Recipe folder, default ${DEFAULT-VALUE}.")
  Path graphs = Path.of("graphs");

  @Option(names = "--precision", paramLabel = "P", defaultValue = "auto", converter = PrecisionConverter.class,
      description = "auto (default: bf16 where the CPU multiplies bf16 natively, AVX512_BF16 or AMX; else fp32), "
          + "fp32 or bf16; every training stage of the chain (teacher, tokenizer, pre-training).")
  Quickstart.Precision precision;

  /** Case-insensitive, so that {@code --precision fp32} and {@code FP32} both work; names the choices. */
  static final class PrecisionConverter implements picocli.CommandLine.ITypeConverter<Quickstart.Precision> {
    @Override
    public Quickstart.Precision convert(String v) {
      try {
        return Quickstart.Precision.valueOf(v.trim().toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new picocli.CommandLine.TypeConversionException("--precision '" + v + "': expected auto, fp32 or bf16");
      }
    }
  }

  @Override
  public void run() {
    Recipe r = Quickstart.recipe(method, graphs, precision, overrides);
    Quickstart.Result q = Quickstart.run(method, r, graphs, System.out);
    System.out.println("== done in " + Math.round(q.totalSeconds()) + " s");
    System.out.printf("   k-NN top-1:   %.2f%% pre-trained vs %.2f%% random init%n", 100 * q.pretrained().knnTop1(),
        100 * q.randomInit().knnTop1());
    System.out.printf("   linear top-1: %.2f%% pre-trained vs %.2f%% random init%n",
        100 * q.pretrained().linearTop1(), 100 * q.randomInit().linearTop1());
    System.out.println("   run directory: " + q.runDir() + " (checkpoints/, metrics.jsonl, events/)");
    System.out.println("   TensorBoard:   tensorboard --logdir " + q.runDir().resolve("events"));
    System.out.println("   export:        " + q.export() + "  (scripts/mimtf inspect " + q.export() + ")");
    System.out.println(q.json());
  }
}
