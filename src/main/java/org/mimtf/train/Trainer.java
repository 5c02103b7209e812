package org.mimtf.train;

import com.google.protobuf.TextFormat;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.mimtf.api.BatchModel;
import org.mimtf.api.Schedule;
import org.mimtf.api.TrainingTask;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.data.recipe.PipelineFactory;
import org.mimtf.nn.Compute;
import org.mimtf.train.log.RunLog;
import org.mimtf.util.Provenance;
import org.tensorflow.Graph;
import org.tensorflow.Session;

/**
 * Trains any {@link TrainingTask}: one loop for all methods. It owns the session, feeds batches from the
 * pipeline, computes schedules, logs, checkpoints, and stops — the method only supplies its graph.
 *
 * <p>Never loses work: checkpoints are atomic and resumable exactly (variables, optimizer slots, step,
 * method state and the data position are all in the checkpoint; every random draw is a function of
 * the seed and the step or example), SIGINT/SIGTERM checkpoint and exit cleanly, and a NaN or Inf loss
 * stops the run naming the step and the loss term, leaving the last good checkpoint in place.
 */
public final class Trainer {
  /** What a finished (or stopped) run reports. */
  public record Summary(Path runDir, long step, long totalSteps, double trainSeconds, Map<String, Double> lastMetrics,
      Path lastCheckpoint, boolean interrupted) {}

  /** Thrown when the loss becomes NaN or Inf. */
  public static final class NonFiniteLossException extends RuntimeException {
    NonFiniteLossException(String message) {
      super(message);
    }
  }

  private final Recipe recipe;
  private final TrainingTask method;
  private final boolean resume;
  private final PrintStream console;
  private final AtomicBoolean stopRequested = new AtomicBoolean();
  private long stopAfterStep = -1;
  private boolean logPlacement;
  private RunTarget runTarget = RunTarget.LOCAL;
  private Hook hook = new Hook() {};

  /**
   * Work of a task around the shared loop that no {@link MimMethod} part expresses: fine-tuning loads
   * pre-trained weights into a fresh run and evaluates on a test set between steps. Hooks must not
   * change anything that shapes the next step (exact resume holds without them).
   */
  public interface Hook {
    /**
     * After the variables of a fresh run were initialised (not on resume), before the first step: e.g.
     * {@code pretrain --init-from} or fine-tuning load pre-trained weights here.
     */
    default void afterInit(Session s, Graph g, org.mimtf.nn.ParamStore params, RunLog log) {}

    /** After optimizer step {@code step} (1-based) and its checkpoint, if one was due. */
    default void afterStep(Session s, long step, long total, RunLog log) {}
  }

  public Trainer(Recipe recipe, TrainingTask method, boolean resume, PrintStream console) {
    this.recipe = recipe;
    this.method = method;
    this.resume = resume;
    this.console = console;
  }

  /** Stops (with a checkpoint) after this step; for tests of interruption and resume. */
  public Trainer stopAfter(long step) {
    this.stopAfterStep = step;
    return this;
  }

  /** Records where each op of the first step ran, in {@code <run_dir>/placement.txt}. */
  public Trainer logPlacement(boolean on) {
    this.logPlacement = on;
    return this;
  }

  /** Where the steps run (default: this process); a cluster run passes the chief's target. */
  public Trainer runOn(RunTarget target) {
    this.runTarget = target;
    return this;
  }

  /** Sets the task's {@link Hook}. */
  public Trainer hook(Hook h) {
    this.hook = h;
    return this;
  }

  /** Asks the loop to checkpoint and stop after the current step (signal handlers call this). */
  public void requestStop() {
    stopRequested.set(true);
  }

  public Summary run() {
    TrainingConfig t = recipe.getTraining();
    Path runDir = Path.of(t.getRunDir());
    Checkpoints ckpts = new Checkpoints(runDir.resolve("checkpoints"), t.getKeepCheckpoints());
    Optional<Path> latest = ckpts.latest();
    if (latest.isPresent() && !resume) {
      throw new org.mimtf.util.UserException("run directory " + runDir + " already has checkpoints (latest "
          + latest.get().getFileName() + "); pass --resume to continue it, or set training.run_dir to a new folder");
    }
    if (NativeBuild.isGpuBuild() && !t.getDevices().trim().equals("cpu") && Devices.gpuCount() == 0) {
      throw new org.mimtf.util.UserException("this is the GPU build of TensorFlow but it sees no GPU, so it would "
          + "silently train on the CPU. Run 'scripts/mimtf doctor' to see what is missing, or set "
          + "training.devices to \"cpu\" to train on the CPU on purpose.");
    }
    prepareRunDir(runDir);

    // ---- input ----------------------------------------------------------------------------------
    int accum = t.getGradAccumSteps();
    int globalBatch = t.getBatchSize() * accum;
    try (Pipeline probe = PipelineFactory.training(recipe, pipelineStages(), 0)) {
      // only to learn sizes; closed at once
      long perEpoch = probe.elementsPerEpoch();
      long stepsPerEpoch = Math.max(1, perEpoch / globalBatch);
      long total = t.getSteps() > 0 ? t.getSteps() : Math.max(1, Math.round(t.getEpochs() * (double) stepsPerEpoch));
      return train(runDir, ckpts, latest, total, stepsPerEpoch, globalBatch, probe.fields());
    } finally {
      for (BatchModel bm : method.batchModels()) {
        bm.close();
      }
    }
  }

  private Summary train(Path runDir, Checkpoints ckpts, Optional<Path> latest, long total, long stepsPerEpoch,
      int globalBatch, List<org.mimtf.data.pipeline.FieldSpec> fields) {
    TrainingConfig t = recipe.getTraining();
    Schedule lrSchedule = Schedules.learningRate(recipe.getSchedule(), total, stepsPerEpoch, globalBatch);
    double wd = recipe.getOptimizer().getWeightDecay();
    Schedule wdSchedule = recipe.getOptimizer().getWeightDecayEnd() >= 0
        ? Schedules.cosine(wd, recipe.getOptimizer().getWeightDecayEnd(), total)
        : Schedules.constant(wd);
    Map<String, Schedule> scalarSchedules = method.scalarSchedules(total);
    List<String> devices = runTarget.towerDevices(t);
    Compute compute = Devices.compute(t, devices);
    try (RunLog log = new RunLog(runDir, console)) {
      long tb = System.nanoTime();
      StepGraph sg = new StepGraph(method, fields, recipe.getOptimizer(), compute, t.getGradAccumSteps(),
          recipe.getModel().getInitSeed(), devices);
      Graph g = sg.graph();
      int ops = 0;
      for (var it = g.operations(); it.hasNext(); it.next()) {
        ops++;
      }
      log.info(String.format("%s: %,d trainable parameters, %d steps of %d images (%d steps per epoch); "
          + "graph of %,d ops built in %.1f s", method.name(), sg.params.trainableCount(), total, globalBatch,
          stepsPerEpoch, ops, (System.nanoTime() - tb) / 1e9));
      if (!devices.isEmpty()) {
        log.info("towers on " + devices + " (global batch " + globalBatch + ", " + t.getBatchSize() / devices.size()
            + " per tower)");
      }
      try (sg; Session s = runTarget.open(g, t, devices)) {
        long step = 0;
        long dataPosition = 0;
        if (latest.isPresent()) {
          s.restore(latest.get().toString());
          long[] sp = sg.stepAndPosition(s);
          step = sp[0];
          dataPosition = sp[1];
          log.info("resumed from " + latest.get() + " at step " + step + " (data position " + dataPosition + ")");
        } else {
          s.initialize();
          hook.afterInit(s, g, sg.params(), log);
        }
        if (logPlacement) {
          sg.capturePlacement(runDir.resolve("placement.txt"));
          log.info("op placement of the first step: " + runDir.resolve("placement.txt"));
        }
        return loop(s, sg, log, ckpts, runDir, step, total, dataPosition, lrSchedule, wdSchedule, scalarSchedules,
            globalBatch);
      }
    }
  }

  private Summary loop(Session s, StepGraph sg, RunLog log, Checkpoints ckpts, Path runDir, long startStep, long total,
      long dataPosition, Schedule lrS, Schedule wdS, Map<String, Schedule> scalarS,
      int globalBatch) {
    TrainingConfig t = recipe.getTraining();
    int accum = t.getGradAccumSteps();
    Map<String, Double> last = new LinkedHashMap<>();
    Path lastCkpt = ckpts.latest().orElse(null);
    long step = startStep;
    Signals.Handle signals = Signals.install(this::requestStop);
    long t0 = System.nanoTime();
    long windowStart = System.nanoTime();
    long windowImages = 0;
    long windowSteps = 0;
    long windowModelNanos = 0;
    double trainSeconds = 0;
    boolean fresh = startStep == 0;
    try (Pipeline pipe = PipelineFactory.training(recipe, pipelineStages(), dataPosition)) {
      while (step < total) {
        double lr = lrS.at(step);
        double wd = wdS.at(step);
        Map<String, Double> stepValues = null;
        for (int micro = 0; micro < accum; micro++) {
          Batch b = pipe.next();
          long tm = System.nanoTime();
          for (BatchModel bm : method.batchModels()) {
            bm.fill(b);
          }
          windowModelNanos += System.nanoTime() - tm;
          if (fresh) {
            if (sg.warmStart(s, b, recipe.getTraining().getSeed())) {
              log.info("warm start done on the first batch");
            }
            fresh = false;
          }
          boolean lastMicro = micro == accum - 1;
          boolean wantImages = lastMicro && t.getImageEverySteps() > 0 && !sg.images.isEmpty()
              && (step + 1) % t.getImageEverySteps() == 0;
          Map<String, Double> scalars = new LinkedHashMap<>();
          for (var e : scalarS.entrySet()) {
            scalars.put(e.getKey(), e.getValue().at(step));
          }
          long seed = recipe.getTraining().getSeed();
          ImageSummaries pics = new ImageSummaries();
          // the norms (a pass over all gradients and parameters) only on the steps that are logged
          boolean logged = (step + 1) % t.getLogEverySteps() == 0 || step + 1 == total || step == startStep;
          Map<String, Double> v = sg.step(s, b, step, lr, wd, scalars, seed, lastMicro,
              wantImages ? pics::add : null, logged);
          pics.write(log, runDir, step + 1);
          windowImages += b.size();
          stepValues = stepValues == null ? v : average(stepValues, v, micro);
        }
        step++;
        windowSteps++;
        checkFinite(stepValues, step);
        if (step % t.getLogEverySteps() == 0 || step == total || step == startStep + 1) {
          double secs = (System.nanoTime() - windowStart) / 1e9;
          double ips = windowImages / Math.max(secs, 1e-9);
          Map<String, Object> rec = new LinkedHashMap<>(stepValues);
          rec.put("lr", lr);
          rec.put("weight_decay", wd);
          rec.put("images_per_s", ips);
          // wall time per optimizer step (data wait, frozen batch models, the session step), and the
          // share of the frozen models (teachers, tokenizers) in it
          rec.put("step_ms", secs * 1000 / Math.max(1, windowSteps));
          if (!method.batchModels().isEmpty()) {
            rec.put("batch_models_ms", windowModelNanos / 1e6 / Math.max(1, windowSteps));
          }
          rec.put("epoch", (double) pipe.position() / pipe.elementsPerEpoch());
          log.metrics(step, rec);
          Map<String, Double> terms = new LinkedHashMap<>();
          for (String k : sg.lossTerms.keySet()) {
            terms.put(k, stepValues.get(k));
          }
          double eta = (total - step) * (double) globalBatch / Math.max(ips, 1e-9);
          log.progress(step, total, stepValues.get("loss"), terms, lr, ips, eta);
          windowStart = System.nanoTime();
          windowImages = 0;
          windowSteps = 0;
          windowModelNanos = 0;
        }
        last = stepValues;
        boolean stopNow = stopRequested.get() || step == stopAfterStep;
        if (step % t.getCheckpointEverySteps() == 0 || step == total || stopNow) {
          lastCkpt = checkpoint(s, sg, ckpts, step, pipe.position());
        }
        hook.afterStep(s, step, total, log);
        if (stopNow) {
          log.info(stopRequested.get() ? "stopped by signal at step " + step + "; resume with --resume"
              : "stopped at step " + step);
          break;
        }
      }
      trainSeconds = (System.nanoTime() - t0) / 1e9;
    } finally {
      signals.restore();
    }
    return new Summary(runDir, step, total, trainSeconds, last, lastCkpt, step < total);
  }

  /** The method's pipeline stages plus the fields its batch models fill. */
  private List<org.mimtf.data.pipeline.SampleStage> pipelineStages() {
    List<org.mimtf.data.pipeline.SampleStage> stages = new ArrayList<>(method.extraStages());
    for (BatchModel bm : method.batchModels()) {
      stages.add(org.mimtf.data.pipeline.Stages.reserve(bm.field()));
    }
    return stages;
  }

  private static Map<String, Double> average(Map<String, Double> acc, Map<String, Double> v, int micro) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (var e : acc.entrySet()) {
      Double x = v.get(e.getKey());
      out.put(e.getKey(), x == null ? e.getValue() : (e.getValue() * micro + x) / (micro + 1));
    }
    return out;
  }

  private void checkFinite(Map<String, Double> v, long step) {
    List<String> bad = new ArrayList<>();
    for (var e : v.entrySet()) {
      if (!Double.isFinite(e.getValue())) {
        bad.add(e.getKey() + " = " + e.getValue());
      }
    }
    if (!bad.isEmpty()) {
      throw new NonFiniteLossException("non-finite value at step " + step + ": " + String.join(", ", bad)
          + "; the run stopped and its last good checkpoint is kept (lower schedule.base_lr or check the data)");
    }
  }

  private Path checkpoint(Session s, StepGraph sg, Checkpoints ckpts, long step, long position) {
    sg.setDataPosition(s, position);
    return ckpts.save(s, step);
  }

  private void prepareRunDir(Path runDir) {
    try {
      Files.createDirectories(runDir);
      Checkpoints.writeAtomically(runDir.resolve("recipe.pbtxt"), TextFormat.printer().printToString(recipe));
      Checkpoints.writeAtomically(runDir.resolve("provenance.json"), Provenance.of(recipe).toString() + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write to run directory " + runDir + ": " + e.getMessage(), e);
    }
  }
}
