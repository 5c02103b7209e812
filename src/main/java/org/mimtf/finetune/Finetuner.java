package org.mimtf.finetune;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.config.proto.FinetuneConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.data.recipe.PipelineFactory;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.data.source.ImageFolderSource;
import org.mimtf.data.source.Source;
import org.mimtf.data.source.Sources;
import org.mimtf.export.Exports;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VitConfig;
import org.mimtf.train.Checkpoints;
import org.mimtf.train.Trainer;
import org.mimtf.train.log.RunLog;
import org.mimtf.util.Json;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.types.TFloat32;

/**
 * {@code mimtf finetune}: end-to-end fine-tuning of a pre-trained encoder as a classifier, the
 * protocol the papers report first (BEiT v2, CCViT, ConMIM, SMR: ImageNet-1k fine-tuning top-1).
 *
 * <p>The run is the shared {@link Trainer} over a {@link ClassifierTask} and the recipe's fine-tuning
 * values ({@link FinetuneRecipe#trainingRecipe}); a {@link Trainer.Hook} loads the encoder into a
 * fresh run ({@link EncoderLoader}) and, every {@code eval_every_steps} and at the end, scores the
 * test set (top-1 / top-5 into metrics.jsonl and TensorBoard) and keeps the best top-1 checkpoint in
 * {@code <run_dir>/best}. The best checkpoint (else the last) is exported as a classifier SavedModel.
 */
public final class Finetuner {
  /** What a run reports; {@code top1}/{@code top5} are the last evaluation's, {@code best*} the best's. */
  public record Summary(Trainer.Summary train, double top1, double top5, double bestTop1, long bestStep,
      Path bestCheckpoint, Path export, String loadedFrom) {
    public Json.Obj json() {
      Json.Obj o = Json.obj().put("task", "finetune").put("run_dir", train.runDir().toString())
          .put("steps", train.step()).put("total_steps", train.totalSteps()).put("train_seconds", train.trainSeconds())
          .put("interrupted", train.interrupted()).put("encoder", loadedFrom).put("top1", top1).put("top5", top5)
          .put("best_top1", bestTop1).put("best_step", bestStep)
          .put("checkpoint", train.lastCheckpoint() == null ? null : train.lastCheckpoint().toString())
          .put("best_checkpoint", bestCheckpoint == null ? null : bestCheckpoint.toString())
          .put("classifier_export", export == null ? null : export.toString());
      train.lastMetrics().forEach(o::put);
      return o;
    }
  }

  private final Recipe recipe;
  private final PrintStream console;
  private boolean resume;
  private long stopAfter = -1;
  private boolean export = true;

  public Finetuner(Recipe recipe, PrintStream console) {
    FinetuneRecipe.requireSection(recipe);
    this.recipe = recipe;
    this.console = console;
  }

  public Finetuner resume(boolean on) {
    this.resume = on;
    return this;
  }

  public Finetuner stopAfter(long step) {
    this.stopAfter = step;
    return this;
  }

  public Finetuner export(boolean on) {
    this.export = on;
    return this;
  }

  /** Class names: the recipe's list, an image folder's sub-folders, else "0" … "C−1". */
  public static List<String> classNames(Recipe r, int classes) {
    FinetuneConfig f = r.getFinetune();
    if (f.getClassNamesCount() > 0) {
      return List.copyOf(f.getClassNamesList());
    }
    SourceConfig src = f.getData().getSource();
    if (src.getKind() == SourceConfig.Kind.IMAGE_FOLDER) {
      try (Source s = Sources.open(src, null, "finetune.data.source")) {
        if (s instanceof ImageFolderSource folder && folder.classNames().size() == classes) {
          return List.copyOf(folder.classNames());
        }
      }
    }
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < classes; i++) {
      ids.add(Integer.toString(i));
    }
    return ids;
  }

  /** The task the trainer runs: the fine-tuned ViT, the classes, Mixup if configured. */
  public static ClassifierTask task(Recipe r) {
    Recipe train = FinetuneRecipe.trainingRecipe(r);
    FinetuneConfig f = r.getFinetune();
    int classes;
    try {
      classes = FinetuneRecipe.numClasses(r, 0);
    } catch (org.mimtf.util.UserException e) {
      try (Source s = Sources.open(f.getData().getSource(), null, "finetune.data.source")) {
        classes = FinetuneRecipe.numClasses(r, s.numClasses());
      }
    }
    Mixup mixup = f.hasMixup()
        ? new Mixup(f.getMixup(), classes, f.getLabelSmoothing(), train.getTraining().getSeed(), "image")
        : null;
    return new ClassifierTask(VitConfig.from(train.getModel()), f, classes, mixup);
  }

  public Summary run() {
    Recipe train = FinetuneRecipe.trainingRecipe(recipe);
    ClassifierTask task = task(recipe);
    EncoderLoader.Source source = EncoderLoader.locate(recipe);
    Hook hook = new Hook(train, task, source);
    console.println(layerScales(train.getOptimizer().getLayerDecay(), task.encoder().config().depth()));
    Trainer trainer = new Trainer(train, task, resume, console).hook(hook);
    if (stopAfter > 0) {
      trainer.stopAfter(stopAfter);
    }
    Trainer.Summary s = trainer.run();
    Path out = null;
    if (export && !s.interrupted()) {
      Path ckpt = hook.bestCheckpoint != null ? hook.bestCheckpoint : s.lastCheckpoint();
      boolean ema = recipe.getFinetune().getModelEma();
      out = ClassifierExporter.export(task.encoder().config(), recipe.getFinetune(),
          classNames(recipe, task.classes()), ckpt, FinetuneRecipe.exportDir(recipe), Exports.extras(recipe, ckpt),
          ema ? ClassifierTask.EMA_SCOPE : "");
      console.println("exported the classifier (" + ckpt.getFileName() + (ema ? ", EMA weights" : "") + ") to "
          + out);
    }
    return new Summary(s, hook.top1, hook.top5, hook.bestTop1, hook.bestStep, hook.bestCheckpoint, out,
        source == null ? FinetuneRecipe.RANDOM_INIT : source.description());
  }

  /**
   * The learning-rate multiplier of each parameter group, {@code decay^(L+1−id)} (BEiT's
   * {@code LayerDecayValueAssigner}): the step's lr times these is each group's lr.
   */
  static String layerScales(float decay, int depth) {
    StringBuilder sb = new StringBuilder("layer-wise lr decay " + decay + ": lr x");
    for (int id = 0; id <= depth + 1; id++) {
      String group = id == 0 ? "embeddings" : id == depth + 1 ? "fc_norm/head" : "block " + (id - 1);
      sb.append(String.format(" %.4g (%s)%s", Math.pow(decay, depth + 1 - id), group, id <= depth ? "," : ""));
    }
    return sb.toString();
  }

  /** Top-1 and top-5 of {@code logits} [n, classes] (row-major) against {@code labels}: counts of hits. */
  static int[] hits(float[] logits, int[] labels, int n, int classes) {
    int[] h = new int[2];
    for (int i = 0; i < n; i++) {
      float mine = logits[i * classes + labels[i]];
      int better = 0;
      for (int k = 0; k < classes; k++) {
        float v = logits[i * classes + k];
        // ties count against the label, so a constant output scores 0 rather than 1
        if (v > mine || (v == mine && k < labels[i])) {
          better++;
        }
      }
      h[0] += better == 0 ? 1 : 0;
      h[1] += better < 5 ? 1 : 0;
    }
    return h;
  }

  /** Scores the test set through the run's inference branch: {top1, top5, count}. */
  public static double[] evaluate(Session s, Recipe train, FinetuneConfig f, int classes) {
    return evaluate(s, train, f, classes, f.getModelEma() ? ClassifierTask.EVAL_EMA_LOGITS : ClassifierTask.EVAL_LOGITS);
  }

  /** {@link #evaluate(Session, Recipe, FinetuneConfig, int)} through the logits op {@code logitsOp}. */
  public static double[] evaluate(Session s, Recipe train, FinetuneConfig f, int classes, String logitsOp) {
    long hit1 = 0;
    long hit5 = 0;
    long n = 0;
    try (Pipeline p = PipelineFactory.evaluation(f.getTest(), "finetune.test", train.getModel(),
        f.getEvalBatchSize(), train.getData().getWorkers(), train.getData().getDecoder())) {
      while (p.hasNext()) {
        Batch b = p.next();
        try (Tensor img = b.toTensor("image");
            Result r = s.runner().feed(ClassifierTask.EVAL_IMAGES, img).fetch(logitsOp).run()) {
          TFloat32 l = (TFloat32) r.get(0);
          float[] logits = new float[(int) l.shape().size()];
          l.copyTo(org.tensorflow.ndarray.buffer.DataBuffers.of(logits, false, false));
          int[] h = hits(logits, b.ints("label"), b.size(), classes);
          hit1 += h[0];
          hit5 += h[1];
          n += b.size();
        }
      }
    }
    return new double[] {(double) hit1 / Math.max(1, n), (double) hit5 / Math.max(1, n), n};
  }

  /** Loads the encoder into a fresh run; evaluates and keeps the best checkpoint between steps. */
  private static final class Hook implements Trainer.Hook {
    private final Recipe train;
    private final ClassifierTask task;
    private final EncoderLoader.Source source;
    private final Checkpoints best;
    double top1 = Double.NaN;
    double top5 = Double.NaN;
    double bestTop1 = Double.NaN;
    long bestStep = -1;
    Path bestCheckpoint;

    Hook(Recipe train, ClassifierTask task, EncoderLoader.Source source) {
      this.train = train;
      this.task = task;
      this.source = source;
      Path runDir = Path.of(train.getTraining().getRunDir());
      this.best = new Checkpoints(runDir.resolve("best"), 1);
      readBest();
    }

    @Override
    public void afterInit(Session s, Graph g, ParamStore params, RunLog log) {
      if (source == null) {
        log.info("finetune.encoder is random_init: every weight starts from its initialiser (the from-scratch "
            + "baseline)");
      } else {
        EncoderLoader.Report rep = EncoderLoader.load(s, task.loadable(), source,
            train.getFinetune().getInterpolatePositions());
        log.info(rep.summary(source));
      }
      if (train.getFinetune().getModelEma()) {
        s.runner().addTarget(ClassifierTask.EMA_INIT).run();
        log.info("model EMA (decay " + train.getFinetune().getModelEmaDecay() + ") starts from the loaded weights");
      }
    }

    @Override
    public void afterStep(Session s, long step, long total, RunLog log) {
      int every = train.getFinetune().getEvalEverySteps();
      if (step != total && (every <= 0 || step % every != 0)) {
        return;
      }
      long t0 = System.nanoTime();
      double[] r = evaluate(s, train, train.getFinetune(), task.classes());
      top1 = r[0];
      top5 = r[1];
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("test_top1", top1);
      m.put("test_top5", top5);
      m.put("test_images", r[2]);
      if (Double.isNaN(bestTop1) || top1 > bestTop1) {
        bestTop1 = top1;
        bestStep = step;
        bestCheckpoint = best.save(s, step);
        writeBest();
      }
      m.put("best_top1", bestTop1);
      log.metrics(step, m);
      log.info(String.format("eval at step %d: top-1 %.4f, top-5 %.4f on %d test images (best %.4f at step %d; "
          + "%.1f s)", step, top1, top5, (long) r[2], bestTop1, bestStep, (System.nanoTime() - t0) / 1e9));
    }

    private Path bestFile() {
      return best.dir().resolve("best.json");
    }

    private void readBest() {
      try {
        if (Files.exists(bestFile()) && best.latest().isPresent()) {
          String line = Files.readString(bestFile());
          bestTop1 = Json.number(line, "top1");
          bestStep = Json.number(line, "step").longValue();
          bestCheckpoint = best.latest().get();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private void writeBest() {
      try {
        Checkpoints.writeAtomically(bestFile(), Json.obj().put("step", bestStep).put("top1", bestTop1) + "\n");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
