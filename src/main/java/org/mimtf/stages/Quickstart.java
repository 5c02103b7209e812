package org.mimtf.stages;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.SmrConfig;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.eval.Evaluator;
import org.mimtf.export.EncoderExporter;
import org.mimtf.export.Exports;
import org.mimtf.methods.beitv2.VqkdTokenizer;
import org.mimtf.tokenizers.CentroidTokenizerBuilder;
import org.mimtf.train.CpuFeatures;
import org.mimtf.util.Files2;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;

/**
 * The bundled demo as one stage chain: a method's earlier stages (CCViT's k-means tokenizer; BEiT v2's
 * and SMR's teacher when it is missing, then BEiT v2's VQ-KD tokenizer), the small pre-training
 * run and its export, then k-NN and linear probes of the export against the same architecture at
 * random initialisation. {@code mimtf quickstart} prints it; {@code bench finetune} runs it to make an
 * encoder that does not exist yet, so both give the same export for the same recipe.
 */
public final class Quickstart {
  /** What the chain produced: the export, the run and the probe scores (pre-trained and random init). */
  public record Result(String method, Path export, Path runDir, long steps, double trainSeconds,
      Evaluator.Scores pretrained, Evaluator.Scores randomInit, Double codebookUsage, double totalSeconds,
      TrainingConfig.Precision precision) {
    public Json.Obj json() {
      Json.Obj o = Json.obj().put("method", method).put("precision", precision.name().toLowerCase())
          .put("export_dir", export.toString())
          .put("knn_top1", pretrained.knnTop1()).put("knn_top1_random_init", randomInit.knnTop1())
          .put("linear_top1", pretrained.linearTop1()).put("linear_top1_random_init", randomInit.linearTop1())
          .put("train_seconds", trainSeconds).put("steps", steps).put("run_dir", runDir.toString())
          .put("total_seconds", totalSeconds);
      if (codebookUsage != null) {
        o.put("codebook_usage", codebookUsage);
      }
      return o;
    }
  }

  /**
   * The arithmetic the chain trains in. {@code AUTO}: bf16 (fp32 master weights and optimizer state)
   * where the recipe trains on the CPU and the CPU multiplies bf16 natively ({@link
   * CpuFeatures#nativeBf16}), else fp32. On this project's 2-core AVX512_BF16 machine bf16 takes
   * 0.70-0.85x the fp32 step time of the small recipes and scores within a 1,000-image test set's
   * noise of fp32 (README, Results); it is what brings BEiT v2's chain, which trains a teacher first,
   * under 10 minutes there.
   */
  public enum Precision { AUTO, FP32, BF16 }

  private Quickstart() {}

  /** {@link #recipe(String, Path, Precision, List)} with {@link Precision#AUTO}. */
  public static Recipe recipe(String method, Path graphs, List<String> overrides) {
    return recipe(method, graphs, Precision.AUTO, overrides);
  }

  /**
   * The recipe {@code graphs/<method>_fmnist_small.pbtxt} with a fresh time-stamped run directory, trained
   * in {@code precision} (every training stage of the chain: BEiT v2's VQ-KD too); {@code overrides}
   * come last, so an explicit {@code training.precision} wins.
   */
  public static Recipe recipe(String method, Path graphs, Precision precision, List<String> overrides) {
    Path recipeFile = graphs.resolve(method + "_fmnist_small.pbtxt");
    if (!Files.exists(recipeFile)) {
      throw new UserException("no recipe " + recipeFile + " (methods: ccvit, beitv2, conmim, moca, smr; run from "
          + "the repository root, or pass --graphs)");
    }
    List<String> o = new ArrayList<>();
    o.add("training.run_dir=runs/quickstart-" + method + "-" + stamp());
    // the user's overrides first on their own (their devices decide AUTO), then again after the
    // precision's, so that an explicit training.precision wins
    List<String> asGiven = new ArrayList<>(o);
    asGiven.addAll(overrides);
    Recipe given = RecipeLoader.load(recipeFile, asGiven);
    o.addAll(precisionOverrides(given, resolve(precision, given, CpuFeatures.nativeBf16())));
    o.addAll(overrides);
    return RecipeLoader.load(recipeFile, o);
  }

  /** {@code AUTO} made concrete for recipe {@code r} on a CPU with or without native bf16. */
  static TrainingConfig.Precision resolve(Precision p, Recipe r, boolean cpuHasBf16) {
    return switch (p) {
      case FP32 -> TrainingConfig.Precision.FP32;
      case BF16 -> TrainingConfig.Precision.BF16;
      case AUTO -> cpuHasBf16 && r.getTraining().getDevices().equals("cpu")
          ? TrainingConfig.Precision.BF16 : TrainingConfig.Precision.FP32;
    };
  }

  /** The {@code --set} lines that make every training stage of {@code r} train in {@code p}. */
  static List<String> precisionOverrides(Recipe r, TrainingConfig.Precision p) {
    List<String> o = new ArrayList<>();
    o.add("training.precision=" + p.name());
    if (r.hasBeitv2()) {
      o.add("beitv2.tokenizer.training.precision=" + p.name());
    }
    return o;
  }

  /** Runs the whole chain for {@code r} (from {@link #recipe}), printing progress to {@code out}. */
  public static Result run(String method, Recipe r, Path graphs, PrintStream out) {
    long t0 = System.nanoTime();
    out.println("== mimtf quickstart: " + method + " on " + r.getData().getSource().getPath());
    out.println("   run directory: " + r.getTraining().getRunDir());
    out.println("   precision: " + r.getTraining().getPrecision().name().toLowerCase()
        + (CpuFeatures.nativeBf16() ? " (this CPU multiplies bf16 natively)" : " (this CPU has no native bf16)")
        + "; --precision fp32|bf16 chooses");
    Double codebookUsage = earlierStages(r, graphs, out);
    out.println("== 2. pre-training, then 3. export");
    Pretraining.Result p = Pretraining.run(r, out);
    out.println("== 4. evaluation (" + r.getEval().getFeature() + " features): pre-trained encoder");
    Evaluator.Scores pre = Evaluator.evaluate(r, p.export(), true, true, out);
    out.println("== 5. evaluation: the same architecture at random initialisation");
    Evaluator.Scores rnd;
    try {
      Path tmp = Files.createTempDirectory("mimtf-random-");
      try {
        Path dir = tmp.resolve("1");
        EncoderExporter.export(p.method().encoder(), null, dir, Exports.extras(r, null));
        rnd = Evaluator.evaluate(r, dir, true, true, out);
      } finally {
        Files2.deleteRecursively(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    double total = (System.nanoTime() - t0) / 1e9;
    return new Result(p.method().name(), p.export(), p.summary().runDir(), p.summary().step(),
        p.summary().trainSeconds(), pre, rnd, codebookUsage, total, r.getTraining().getPrecision());
  }

  /** The stages before pre-training; returns BEiT v2's codebook usage on the evaluation images, else null. */
  private static Double earlierStages(Recipe r, Path graphs, PrintStream out) {
    if (r.hasCcvit()) {
      out.println("== 1. tokenizer: k-means over raw pixel patches");
      CentroidTokenizerBuilder.Built b = CentroidTokenizerBuilder.build(r, out);
      out.printf("   %d centroids, objective %.4f, usage %.0f%% (%.1f s): %s%n", b.k(), b.objective(),
          100 * b.usage(), b.seconds(), b.dir().resolve("centroids.png"));
    }
    if (r.hasBeitv2()) {
      Path teacher = Path.of(r.getBeitv2().getTokenizer().getTeacher().getSavedModelDir());
      teacher(teacher, "0", graphs, r, out);
      out.println("== 1. tokenizer: VQ-KD against the teacher " + teacher);
      var b = VqkdTokenizer.train(r, false, out);
      double usage = VqkdTokenizer.usage(b.savedModel(), r.getEval().getTest(), r.getModel(),
          r.getBeitv2().getTokenizer().getCodebookSize());
      out.printf("   tokenizer %s: %.1f%% of the %d codes used on the evaluation images%n", b.savedModel(),
          100 * usage, r.getBeitv2().getTokenizer().getCodebookSize());
      return usage;
    }
    if (r.hasSmr() && r.getSmr().getTarget() == SmrConfig.Target.TEACHER_FEATURES) {
      teacher(Path.of(r.getSmr().getTeacher().getSavedModelDir()), "1", graphs, r, out);
    }
    return null;
  }

  /**
   * Makes the teacher (a small recipe's export, {@link SmallRecipeTeacher}) when {@code teacher} does not
   * exist, in the precision {@code student} trains in.
   */
  private static void teacher(Path teacher, String stage, Path graphs, Recipe student, PrintStream out) {
    if (SmallRecipeTeacher.exists(teacher)) {
      out.println("== " + stage + ". teacher: " + teacher + " (frozen)");
      return;
    }
    Path file = SmallRecipeTeacher.recipeFor(graphs, teacher);
    out.println("== " + stage + ". teacher: " + teacher + " does not exist; pre-training " + file
        + " to make a mimtf teacher (its export is the teacher)");
    SmallRecipeTeacher.make(graphs, teacher, "runs/quickstart-teacher-" + stamp(),
        List.of("training.precision=" + student.getTraining().getPrecision().name()), out);
  }

  private static String stamp() {
    return LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
  }
}
