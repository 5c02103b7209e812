package org.mimtf.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.api.MimMethod;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.eval.Evaluator;
import org.mimtf.export.EncoderExporter;
import org.mimtf.export.Exports;
import org.mimtf.stages.Pretraining;
import org.mimtf.tokenizers.CentroidTokenizerBuilder;
import org.mimtf.train.Trainer;
import org.mimtf.util.Files2;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
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

  @Override
  public void run() {
    long t0 = System.nanoTime();
    Path recipeFile = graphs.resolve(method + "_fmnist_small.pbtxt");
    if (!Files.exists(recipeFile)) {
      throw new UserException("no recipe " + recipeFile + " (run from the repository root, or pass --graphs)");
    }
    String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    List<String> o = new ArrayList<>();
    o.add("training.run_dir=runs/quickstart-" + method + "-" + stamp);
    o.addAll(overrides);
    Recipe r = RecipeLoader.load(recipeFile, o);
    System.out.println("== mimtf quickstart: " + method + " on " + r.getData().getSource().getPath());
    System.out.println("   run directory: " + r.getTraining().getRunDir());

    Double codebookUsage = null;
    if (r.hasCcvit()) {
      System.out.println("== 1. tokenizer: k-means over raw pixel patches");
      CentroidTokenizerBuilder.Built b = CentroidTokenizerBuilder.build(r, System.out);
      System.out.printf("   %d centroids, objective %.4f, usage %.0f%% (%.1f s): %s%n", b.k(), b.objective(),
          100 * b.usage(), b.seconds(), b.dir().resolve("centroids.png"));
    }
    if (r.hasBeitv2()) {
      Path teacher = Path.of(r.getBeitv2().getTokenizer().getTeacher().getSavedModelDir());
      if (!org.mimtf.stages.CcvitTeacher.exists(teacher)) {
        System.out.println("== 0. teacher: " + teacher + " does not exist; pre-training the small CCViT recipe to "
            + "make a mimtf teacher (its export is the teacher)");
        org.mimtf.stages.CcvitTeacher.make(graphs, teacher, "runs/quickstart-ccvit-teacher-" + stamp, System.out);
      }
      System.out.println("== 1. tokenizer: VQ-KD against the teacher " + teacher);
      var b = org.mimtf.methods.beitv2.VqkdTokenizer.train(r, false, System.out);
      codebookUsage = org.mimtf.methods.beitv2.VqkdTokenizer.usage(b.savedModel(), r.getEval().getTest(),
          r.getModel(), r.getBeitv2().getTokenizer().getCodebookSize());
      System.out.printf("   tokenizer %s: %.1f%% of the %d codes used on the evaluation images%n", b.savedModel(),
          100 * codebookUsage, r.getBeitv2().getTokenizer().getCodebookSize());
    }
    if (r.hasSmr() && r.getSmr().getTarget() == org.mimtf.config.proto.SmrConfig.Target.TEACHER_FEATURES) {
      Path teacher = Path.of(r.getSmr().getTeacher().getSavedModelDir());
      if (!org.mimtf.stages.CcvitTeacher.exists(teacher)) {
        System.out.println("== 1. teacher: " + teacher + " does not exist; pre-training the small CCViT recipe to "
            + "make a mimtf teacher (its export is the teacher)");
        org.mimtf.stages.CcvitTeacher.make(graphs, teacher, "runs/quickstart-ccvit-teacher-" + stamp, System.out);
      } else {
        System.out.println("== 1. teacher: " + teacher + " (frozen, its patch_tokens are the targets)");
      }
    }
    System.out.println("== 2. pre-training, then 3. export");
    Pretraining.Result p = Pretraining.run(r, System.out);
    MimMethod m = p.method();
    Trainer.Summary s = p.summary();
    Path export = p.export();
    System.out.println("== 4. evaluation (" + r.getEval().getFeature() + " features): pre-trained encoder");
    Evaluator.Scores pre = Evaluator.evaluate(r, export, true, true, System.out);
    System.out.println("== 5. evaluation: the same architecture at random initialisation");
    Evaluator.Scores rnd;
    try {
      Path tmp = Files.createTempDirectory("mimtf-random-");
      try {
        Path dir = tmp.resolve("1");
        EncoderExporter.export(m.encoder(), null, dir, Exports.extras(r, null));
        rnd = Evaluator.evaluate(r, dir, true, true, System.out);
      } finally {
        Files2.deleteRecursively(tmp);
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    double total = (System.nanoTime() - t0) / 1e9;
    System.out.println("== done in " + Math.round(total) + " s");
    System.out.printf("   k-NN top-1:   %.2f%% pre-trained vs %.2f%% random init%n", 100 * pre.knnTop1(),
        100 * rnd.knnTop1());
    System.out.printf("   linear top-1: %.2f%% pre-trained vs %.2f%% random init%n", 100 * pre.linearTop1(),
        100 * rnd.linearTop1());
    System.out.println("   run directory: " + s.runDir() + " (checkpoints/, metrics.jsonl, events/)");
    System.out.println("   TensorBoard:   tensorboard --logdir " + s.runDir().resolve("events"));
    System.out.println("   export:        " + export + "  (scripts/mimtf inspect " + export + ")");
    Json.Obj result = Json.obj().put("method", m.name()).put("export_dir", export.toString())
        .put("knn_top1", pre.knnTop1()).put("knn_top1_random_init", rnd.knnTop1())
        .put("linear_top1", pre.linearTop1()).put("linear_top1_random_init", rnd.linearTop1())
        .put("train_seconds", s.trainSeconds()).put("steps", s.step()).put("run_dir", s.runDir().toString())
        .put("total_seconds", total);
    if (codebookUsage != null) {
      result.put("codebook_usage", codebookUsage);
    }
    System.out.println(result);
  }
}
