package org.mimtf.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.api.MimMethod;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.source.IdxSource;
import org.mimtf.eval.Evaluator;
import org.mimtf.eval.Knn;
import org.mimtf.eval.LinearProbe;
import org.mimtf.export.EncoderExporter;
import org.mimtf.export.Exports;
import org.mimtf.stages.Pretraining;
import org.mimtf.tokenizers.CentroidTokenizerBuilder;
import org.mimtf.train.Trainer;
import org.mimtf.util.Files2;
import org.mimtf.util.Json;

/**
 * {@code bench quality}: pre-trains a method's small recipe on the full Fashion-MNIST training set
 * (60k) for a fixed step budget, then scores k-NN and linear probes on the 10k test set for the
 * pre-trained encoder, the same architecture at random initialisation, and raw pixels.
 */
public final class QualityBench {
  private QualityBench() {}

  /**
   * An ablation of a method's paper, reproducible at this scale: recipe overrides and the paper's
   * figure for it (an ablation is expected to score below the default).
   */
  public record Ablation(String method, String name, List<String> overrides, String paper) {}

  static final List<Ablation> ABLATIONS = List.of(
      new Ablation("ccvit", "tokens-only", List.of("ccvit.pixel_block_target=TOKENS", "ccvit.num_replaced_patches=0"),
          "CCViT Table 3 row 1, tokens only (centroid ids after the token block and after the pixel block, "
              + "blockwise masking only): 84.12 vs 84.30 FT for tokens + pixels + replacement"),
      new Ablation("ccvit", "tokens-rep", List.of("ccvit.pixel_block_target=TOKENS"),
          "CCViT Table 3 row 2, tokens only with centroid replacement: 84.21 vs 84.30 FT for tokens + pixels "
              + "+ replacement"),
      new Ablation("ccvit", "no-replacement", List.of("ccvit.num_replaced_patches=0"),
          "not a row of CCViT Table 3 (tokens + pixels without replacement); its replacement ablation is "
              + "84.12 (row 1) vs 84.21 (row 2), both with token targets after the pixel block"),
      new Ablation("conmim", "momentum0", List.of("conmim.teacher_momentum=0", "conmim.teacher_momentum_end=0"),
          "ConMIM Table 8, w/o asymmetric model progress rates (the keys come from the online network itself, "
              + "stop-gradient): 81.53 vs 83.51 (-1.98)"),
      new Ablation("conmim", "symmetric", List.of("conmim.momentum_view=weak"),
          "ConMIM Table 8, w/o asymmetric image perturbations, basic augmentation for both inputs: 83.35 vs "
              + "83.51 (-0.16)"),
      // Paper section 3.2: "We average the patch tokens as the global representation for the models
      // without patch aggregation. Otherwise, we consider the [CLS] token": without the head the CLS is
      // never a target, so the ablation is probed on AVG_POOL, the default on CLS.
      new Ablation("beitv2", "no-aggregation", List.of("beitv2.use_aggregation=false", "eval.feature=AVG_POOL"),
          "BEiT v2 Table 5, w/o the patch-aggregation head (probed on the mean of the patch tokens, section "
              + "3.2): 77.9 vs 80.1 linear, 84.7 vs 85.0 fine-tuned"),
      new Ablation("beitv2", "unshared-head", List.of("beitv2.shared_lm_head=false"),
          "BEiT v2 Table 5, unshared MIM head for the aggregation branch: 79.5 vs 80.1 linear"),
      new Ablation("moca", "lambda1", List.of("moca.img_loss_weight=1"),
          "MOCA Table 2g, lambda = 1 (image-level cross-view loss L_IMG only): k-NN 66.8 vs 71.8 at lambda = 0.5"),
      new Ablation("moca", "lambda0", List.of("moca.img_loss_weight=0"),
          "MOCA Table 2g, lambda = 0 (token-level same-view loss L_LOC only): k-NN 13.1 vs 71.8 at lambda = 0.5"),
      new Ablation("smr", "rd", List.of("smr.reducer=RANDOM_DROPPING"),
          "SMR Table 4e, random dropping instead of token merging with the same K: below TM, even below no "
              + "compression"),
      new Ablation("smr", "late-blocks", List.of("smr.merge_blocks=[5,6]"),
          "SMR section 3.3 / smr.md: compressing in the last blocks instead of the first"));

  /**
   * The ablation {@code name} of {@code method}, or one of the user's own written {@code
   * NAME:PATH=VALUE[;PATH=VALUE...]}; a user error naming the known ones otherwise.
   */
  public static Ablation ablation(String method, String name) {
    int colon = name.indexOf(':');
    if (colon > 0) {
      List<String> o = List.of(name.substring(colon + 1).split(";"));
      for (String x : o) {
        if (x.indexOf('=') <= 0) {
          throw new org.mimtf.util.UserException("--ablation " + name + ": '" + x + "' is not PATH=VALUE (expected "
              + "NAME:PATH=VALUE[;PATH=VALUE...])");
        }
      }
      return new Ablation(method, name.substring(0, colon), o, "(user-defined)");
    }
    for (Ablation a : ABLATIONS) {
      if (a.method().equals(method) && a.name().equals(name)) {
        return a;
      }
    }
    throw new org.mimtf.util.UserException("no ablation '" + name + "' for " + method + " (known: "
        + ABLATIONS.stream().filter(a -> a.method().equals(method)).map(Ablation::name).toList() + ")");
  }

  public static Json.Obj run(String method, Path graphs, Path data, int steps, List<String> extra, PrintStream out) {
    return run(method, graphs, data, steps, extra, List.of(), 1, out);
  }

  /**
   * One setting's probe scores over seeds. The paper's sign counts as shown only when the default's
   * mean beats the ablation's mean by more than the spread (max − min) of either over its seeds: two
   * seeds at this scale differ by a point or two, so a smaller gap says nothing.
   */
  public record SeedScores(List<Double> knn, List<Double> linear) {
    public SeedScores {
      knn = List.copyOf(knn);
      linear = List.copyOf(linear);
    }

    public double knnMean() {
      return mean(knn);
    }

    public double linearMean() {
      return mean(linear);
    }

    public double knnSpread() {
      return spread(knn);
    }

    public double linearSpread() {
      return spread(linear);
    }

    /** Whether {@code this} (the default) beats {@code ablation} by more than either's spread. */
    public boolean signShown(SeedScores ablation, boolean onKnn) {
      double gap = onKnn ? knnMean() - ablation.knnMean() : linearMean() - ablation.linearMean();
      double noise = onKnn ? Math.max(knnSpread(), ablation.knnSpread())
          : Math.max(linearSpread(), ablation.linearSpread());
      return gap > noise;
    }

    private static double mean(List<Double> v) {
      return v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    private static double spread(List<Double> v) {
      return v.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN)
          - v.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }
  }

  /**
   * Pre-trains and scores the default recipe, the same architecture at random initialisation, raw
   * pixels, and then each named ablation with the same budget (its scores and the difference to the
   * default go under {@code ablations}).
   */
  public static Json.Obj run(String method, Path graphs, Path data, int steps, List<String> extra,
      List<String> ablations, int seeds, PrintStream out) {
    return run(method, graphs, SMALL, data, steps, extra, ablations, seeds, out);
  }

  /** The quickstart's recipe ({@code graphs/METHOD_fmnist_small.pbtxt}), run for the bench's steps. */
  public static final String SMALL = "small";

  /**
   * The method's reference recipe ({@code graphs/METHOD_fmnist_ref.pbtxt}, issue 17): the small recipe
   * refined for the full 60k and a budget of at most 45 minutes on 2 cores.
   */
  public static final String REFERENCE = "ref";

  /**
   * As {@link #run(String, Path, Path, int, List, List, int, PrintStream)} with the recipe
   * {@code graphs/METHOD_fmnist_VARIANT.pbtxt}; {@code steps <= 0} keeps the recipe's own.
   */
  public static Json.Obj run(String method, Path graphs, String variant, Path data, int steps, List<String> extra,
      List<String> ablations, int seeds, PrintStream out) {
    if (seeds < 1) {
      throw new org.mimtf.util.UserException("--seeds " + seeds + ": expected 1 or more");
    }
    long t0 = System.nanoTime();
    Path train = data.resolve("train-images-idx3-ubyte.gz");
    Path trainLabels = data.resolve("train-labels-idx1-ubyte.gz");
    Path test = data.resolve("t10k-images-idx3-ubyte.gz");
    Path testLabels = data.resolve("t10k-labels-idx1-ubyte.gz");
    List<String> o = new ArrayList<>(List.of(
        "data.source.path=" + train, "data.source.labels_path=" + trainLabels,
        "eval.train.path=" + train, "eval.train.labels_path=" + trainLabels,
        "eval.test.path=" + test, "eval.test.labels_path=" + testLabels, "training.log_every_steps=50"));
    if (steps > 0) {
      o.add("training.steps=" + steps);
    }
    if (method.equals("beitv2")) {
      // the tokenizer stage reads its own data section
      o.add("beitv2.tokenizer.data.source.path=" + train);
      o.add("beitv2.tokenizer.data.source.labels_path=" + trainLabels);
    }
    o.addAll(extra);
    List<Ablation> abl = ablations.stream().map(a -> ablation(method, a)).toList();
    Recipe r = recipe(graphs, method, variant, steps, o, "");
    Json.Obj teacherScores = null;
    Path teacher = null;
    if (r.hasSmr() && r.getSmr().getTarget() == org.mimtf.config.proto.SmrConfig.Target.TEACHER_FEATURES) {
      teacher = Path.of(r.getSmr().getTeacher().getSavedModelDir());
    } else if (r.hasBeitv2()) {
      teacher = Path.of(r.getBeitv2().getTokenizer().getTeacher().getSavedModelDir());
    }
    if (teacher != null) {
      // the small recipe's teacher is another small recipe's export; the probes say what the method distils
      if (!org.mimtf.stages.SmallRecipeTeacher.exists(teacher)) {
        out.println(method + " teacher " + teacher + " missing: making it from "
            + org.mimtf.stages.SmallRecipeTeacher.recipeFor(graphs, teacher) + " (with that recipe's own data and steps)");
        org.mimtf.stages.SmallRecipeTeacher.make(graphs, teacher, r.getTraining().getRunDir() + "-teacher-run", out);
      }
      Evaluator.Scores ts = Evaluator.evaluate(r, teacher, true, true, out);
      teacherScores = Json.obj().put("saved_model", teacher.toString()).put("knn_top1", ts.knnTop1())
          .put("linear_top1", ts.linearTop1());
    }
    List<Trained> runs = new ArrayList<>();
    for (int seed = 0; seed < seeds; seed++) {
      runs.add(seeds == 1 ? pretrainAndScore(r, out)
          : pretrainAndScore(recipe(graphs, method, variant, steps, withSeed(o, seed), "-seed" + seed), out));
    }
    SeedScores defaults = scores(runs);
    Trained t = runs.get(0);
    MimMethod m = t.method();
    Trainer.Summary s = t.summary();
    Evaluator.Scores pre = t.scores();
    Path rnd = Path.of(r.getTraining().getRunDir(), "random-init", "1");
    EncoderExporter.export(m.encoder(), null, rnd, Exports.extras(r, null));
    Evaluator.Scores init = Evaluator.evaluate(r, rnd, true, true, out);
    double[] raw = rawPixels(train, trainLabels, test, testLabels, out);
    List<Object> curve = tokenAccuracyCurve(s.runDir());
    Json.Obj j = Json.obj().put("bench", "quality").put("method", method)
        .put("recipe", recipeFile(graphs, method, variant).toString()).put("steps", s.step())
        .put("train_images", pre.trainImages()).put("test_images", pre.testImages())
        .put("feature", r.getEval().getFeature().name())
        .put("knn_top1", defaults.knnMean()).put("linear_top1", defaults.linearMean())
        .put("knn_top1_random_init", init.knnTop1()).put("linear_top1_random_init", init.linearTop1())
        .put("knn_top1_raw_pixels", raw[0]).put("linear_top1_raw_pixels", raw[1])
        .put("train_seconds", s.trainSeconds()).put("total_seconds", (System.nanoTime() - t0) / 1e9)
        .put("metrics_curve", curve).put("run_dir", s.runDir().toString());
    if (seeds > 1) {
      j.put("seeds", seeds).put("knn_top1_seeds", defaults.knn()).put("linear_top1_seeds", defaults.linear())
          .put("knn_spread", defaults.knnSpread()).put("linear_spread", defaults.linearSpread());
    }
    if (t.codebookUsage() != null) {
      j.put("codebook_usage", t.codebookUsage());
    }
    if (teacherScores != null) {
      j.put("teacher", teacherScores.asMap());
    }
    List<Object> ablationResults = new ArrayList<>();
    for (Ablation a : abl) {
      out.println("== ablation " + a.name() + ": " + String.join(" ", a.overrides()));
      List<String> ao = new ArrayList<>(o);
      ao.addAll(a.overrides());
      List<Trained> aruns = new ArrayList<>();
      String feature = null;
      for (int seed = 0; seed < seeds; seed++) {
        Recipe ar = recipe(graphs, method, variant, steps, seeds == 1 ? ao : withSeed(ao, seed),
            "-" + a.name() + (seeds == 1 ? "" : "-seed" + seed));
        feature = ar.getEval().getFeature().name();
        aruns.add(pretrainAndScore(ar, out));
      }
      SeedScores as = scores(aruns);
      Trained at = aruns.get(0);
      // an ablation may probe another feature than the default (BEiT v2 without its head: AVG_POOL)
      Json.Obj aj = Json.obj().put("name", a.name()).put("overrides", a.overrides()).put("paper", a.paper())
          .put("feature", feature)
          .put("knn_top1", as.knnMean()).put("linear_top1", as.linearMean())
          .put("knn_minus_default", as.knnMean() - defaults.knnMean())
          .put("linear_minus_default", as.linearMean() - defaults.linearMean())
          .put("codebook_usage", at.codebookUsage())
          .put("worse_than_default_knn", as.knnMean() < defaults.knnMean())
          .put("worse_than_default_linear", as.linearMean() < defaults.linearMean())
          .put("train_seconds", at.summary().trainSeconds()).put("run_dir", at.summary().runDir().toString());
      if (seeds > 1) {
        aj.put("knn_top1_seeds", as.knn()).put("linear_top1_seeds", as.linear()).put("knn_spread", as.knnSpread())
            .put("linear_spread", as.linearSpread()).put("sign_shown_knn", defaults.signShown(as, true))
            .put("sign_shown_linear", defaults.signShown(as, false));
      }
      out.printf("ablation %s: k-NN %.2f%% (default %.2f%%), linear %.2f%% (default %.2f%%)%s%n", a.name(),
          100 * as.knnMean(), 100 * defaults.knnMean(), 100 * as.linearMean(), 100 * defaults.linearMean(),
          seeds == 1 ? "" : String.format(" — means of %d seeds; sign shown beyond the spread: k-NN %s, linear %s",
              seeds, defaults.signShown(as, true), defaults.signShown(as, false)));
      ablationResults.add(aj.asMap());
    }
    if (!abl.isEmpty()) {
      j.put("ablations", ablationResults).put("total_seconds", (System.nanoTime() - t0) / 1e9);
    }
    out.printf("%s after %d steps: k-NN %.2f%% (random init %.2f%%, raw pixels %.2f%%), linear %.2f%% (random init "
        + "%.2f%%, raw pixels %.2f%%)%n", method, s.step(), 100 * defaults.knnMean(), 100 * init.knnTop1(),
        100 * raw[0], 100 * defaults.linearMean(), 100 * init.linearTop1(), 100 * raw[1]);
    return j;
  }

  private static List<String> withSeed(List<String> overrides, int seed) {
    List<String> o = new ArrayList<>(overrides);
    o.add("training.seed=" + seed);
    return o;
  }

  private static SeedScores scores(List<Trained> runs) {
    return new SeedScores(runs.stream().map(x -> x.scores().knnTop1()).toList(),
        runs.stream().map(x -> x.scores().linearTop1()).toList());
  }

  /** {@code graphs/METHOD_fmnist_VARIANT.pbtxt}: {@link #SMALL} or {@link #REFERENCE}. */
  private static Path recipeFile(Path graphs, String method, String variant) {
    return graphs.resolve(method + "_fmnist_" + variant + ".pbtxt");
  }

  private static Recipe recipe(Path graphs, String method, String variant, int steps, List<String> overrides,
      String suffix) {
    String run = "runs/bench-quality-" + method + "-" + (steps > 0 ? steps : variant) + suffix;
    List<String> o = new ArrayList<>(overrides);
    o.add("training.run_dir=" + run);
    o.add("export.dir=" + run + "/export");
    Recipe r = RecipeLoader.load(recipeFile(graphs, method, variant), o);
    try {
      Files2.deleteRecursively(Path.of(r.getTraining().getRunDir()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return r;
  }

  /** A pre-training run, its probes, and (BEiT v2) the tokenizer's codebook usage on the test images. */
  private record Trained(MimMethod method, Trainer.Summary summary, Evaluator.Scores scores, Double codebookUsage) {}

  /**
   * The method's earlier stage (CCViT's k-means tokenizer, BEiT v2's VQ-KD), pre-training, export and
   * both probes.
   */
  private static Trained pretrainAndScore(Recipe r, PrintStream out) {
    Double usage = null;
    if (r.hasCcvit()) {
      CentroidTokenizerBuilder.build(r, out);
    }
    if (r.hasBeitv2()) {
      var b = org.mimtf.methods.beitv2.VqkdTokenizer.train(r, false, out);
      usage = org.mimtf.methods.beitv2.VqkdTokenizer.usage(b.savedModel(), r.getEval().getTest(), r.getModel(),
          r.getBeitv2().getTokenizer().getCodebookSize());
    }
    var p = Pretraining.run(r, out); // after the earlier stage: the method loads its tokenizer
    return new Trained(p.method(), p.summary(), Evaluator.evaluate(r, p.export(), true, true, out), usage);
  }

  /** k-NN and linear top-1 on raw pixel vectors. */
  static double[] rawPixels(Path train, Path trainLabels, Path test, Path testLabels, PrintStream out) {
    try (IdxSource a = IdxSource.open(train, trainLabels, 10);
        IdxSource b = IdxSource.open(test, testLabels, 10)) {
      float[][] x = {new float[a.size() * 784], new float[b.size() * 784]};
      int[][] y = {new int[a.size()], new int[b.size()]};
      IdxSource[] src = {a, b};
      for (int s = 0; s < 2; s++) {
        for (int i = 0; i < src[s].size(); i++) {
          var rec = src[s].read(i);
          System.arraycopy(rec.pixels().data(), 0, x[s], i * 784, 784);
          y[s][i] = rec.label();
        }
      }
      double knn = Knn.classify(x[0], y[0], x[1], y[1], 784, 10).top1();
      double lin = LinearProbe.fit(x[0], y[0], x[1], y[1], 784, 10, LinearProbe.Options.forTrainSize(a.size()))
          .testTop1();
      out.printf("raw pixels: k-NN %.2f%%, linear %.2f%%%n", 100 * knn, 100 * lin);
      return new double[] {knn, lin};
    }
  }

  /** Step, loss and the accuracy metrics of every logged step (a curve for the note). */
  static List<Object> tokenAccuracyCurve(Path runDir) {
    List<Object> curve = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
        if (!line.contains("\"step\"") || line.contains("\"eval")) {
          continue;
        }
        Json.Obj o = Json.obj();
        for (String key : new String[] {"step", "loss", "token_acc_masked", "token_acc_replaced", "mim_acc",
            "aggregation_acc", "match_acc", "weight_cosine", "img_loss", "loc_loss", "mu", "teacher_entropy",
            "recon_cosine"}) {
          Double v = Json.number(line, key);
          if (v != null) {
            o.put(key, v);
          }
        }
        curve.add(o.asMap());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // keep ~10 points
    int stride = Math.max(1, curve.size() / 10);
    List<Object> thin = new ArrayList<>();
    for (int i = 0; i < curve.size(); i += stride) {
      thin.add(curve.get(i));
    }
    if (!curve.isEmpty() && thin.get(thin.size() - 1) != curve.get(curve.size() - 1)) {
      thin.add(curve.get(curve.size() - 1));
    }
    return thin;
  }
}
