package org.mimtf.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.eval.Evaluator;
import org.mimtf.export.EncoderExporter;
import org.mimtf.export.Exports;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.train.Checkpoints;
import org.mimtf.util.Files2;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mimtf eval knn|linear|all}: probes of frozen features on the recipe's eval data. */
@Command(name = "eval", mixinStandardHelpOptions = true,
    description = {"k-NN (DINO: k=20, cosine, exp(sim/0.07) votes) and linear-probe top-1 of an encoder on the "
        + "recipe's eval.train / eval.test data.",
        "The encoder comes from --saved-model, a run directory (--run-dir: its recipe and latest checkpoint), "
            + "the recipe's export, or --random-init (the same architecture untrained)."})
final class EvalCommand implements Runnable {
  @Parameters(paramLabel = "PROBE", defaultValue = "all", description = "knn, linear or all (default).")
  String probe;

  @Option(names = {"-r", "--recipe"}, paramLabel = "FILE", description = "Recipe (eval data, model).")
  Path recipeFile;

  @Option(names = "--set", paramLabel = "PATH=VALUE", description = "Override a recipe field (repeatable).")
  List<String> overrides = new java.util.ArrayList<>();

  @Option(names = "--dump-features", paramLabel = "DIR", description = "Also write the extracted features and "
      + "labels as .npy (train_features, train_labels, test_features, test_labels) to DIR.")
  Path dumpFeatures;

  @Option(names = "--features", paramLabel = "DIR", description = "Probe features written earlier by "
      + "--dump-features instead of extracting them (no encoder is loaded; the recipe's eval settings apply).")
  Path features;

  @ArgGroup(exclusive = true)
  Source source = new Source();

  static final class Source {
    @Option(names = "--saved-model", paramLabel = "DIR", description = "An exported encoder SavedModel.")
    Path savedModel;

    @Option(names = "--run-dir", paramLabel = "DIR", description = "A run directory (recipe.pbtxt + checkpoints).")
    Path runDir;

    @Option(names = "--random-init", description = "The recipe's encoder at random initialisation.")
    boolean randomInit;
  }

  @Override
  public void run() {
    if (!List.of("knn", "linear", "all").contains(probe)) {
      throw new UserException("unknown probe '" + probe + "' (expected knn, linear or all)");
    }
    Recipe r;
    if (recipeFile != null) {
      r = RecipeLoader.load(recipeFile, overrides);
    } else if (source.runDir != null) {
      r = RecipeLoader.load(source.runDir.resolve("recipe.pbtxt"), overrides);
    } else {
      throw new UserException("give --recipe FILE (or --run-dir DIR, whose recipe.pbtxt is used)");
    }
    if (features != null) {
      Evaluator.Scores s = Evaluator.probe(r.getEval(), Evaluator.load(features, "train"),
          Evaluator.load(features, "test"), !probe.equals("linear"), !probe.equals("knn"), System.out);
      System.out.println(Json.obj().put("features", features.toString()).put("knn_top1", s.knnTop1())
          .put("linear_top1", s.linearTop1()).put("linear_solver", r.getEval().getLinearSolver().name())
          .put("linear_weight_decay", s.linearWeightDecay())
          .put("train_images", s.trainImages()).put("test_images", s.testImages()).put("feature_dim", s.dim())
          .put("seconds", s.seconds()));
      return;
    }
    Path tmp = null;
    Path model;
    String label;
    try {
      if (source.savedModel != null) {
        model = source.savedModel;
        label = model.toString();
      } else if (source.randomInit || source.runDir != null) {
        tmp = Files.createTempDirectory("mimtf-eval-");
        model = tmp.resolve("1");
        Path ckpt = null;
        if (!source.randomInit) {
          ckpt = new Checkpoints(source.runDir.resolve("checkpoints"), 1).latest().orElseThrow(() ->
              new UserException("no checkpoint in " + source.runDir.resolve("checkpoints")));
        }
        EncoderExporter.export(MethodRegistry.encoderSpec(r), ckpt, model, Exports.extras(r, ckpt));
        label = ckpt == null ? "random init" : ckpt.toString();
      } else {
        model = Exports.exportDir(r);
        if (!Files.exists(model.resolve("saved_model.pb"))) {
          throw new UserException("no export at " + model + ": pre-train first, or pass --saved-model, --run-dir "
              + "or --random-init");
        }
        label = model.toString();
      }
      System.out.println("evaluating " + label);
      Evaluator.Scores s = Evaluator.evaluate(r, model, !probe.equals("linear"), !probe.equals("knn"), dumpFeatures,
          System.out);
      Json.Obj out = Json.obj().put("model", label).put("knn_top1", s.knnTop1()).put("linear_top1", s.linearTop1())
          .put("linear_weight_decay", s.linearWeightDecay())
          .put("train_images", s.trainImages()).put("test_images", s.testImages()).put("feature_dim", s.dim())
          .put("seconds", s.seconds());
      Path runDir = source.runDir != null ? source.runDir : Path.of(r.getTraining().getRunDir());
      if (Files.isDirectory(runDir) && !source.randomInit) {
        Files.writeString(runDir.resolve("metrics.jsonl"), Json.obj().put("eval", label)
            .put("eval/knn_top1", s.knnTop1()).put("eval/linear_top1", s.linearTop1()) + "\n",
            StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      }
      System.out.println(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (tmp != null) {
        try {
          Files2.deleteRecursively(tmp);
        } catch (IOException e) {
          // a temp folder left behind is harmless
        }
      }
    }
  }
}
