package org.mimtf.bench;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.PipelineFactory;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.data.pipeline.SampleStage;
import org.mimtf.data.pipeline.Stages;
import org.mimtf.methods.MimMethod;
import org.mimtf.nn.Compute;
import org.mimtf.nn.VitConfig;
import org.mimtf.train.SessionConfigs;
import org.mimtf.train.StepGraph;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;
import org.tensorflow.Session;

/**
 * {@code bench method-step}: the time of one training step (forward, backward, AdamW, the method's
 * per-step updates) of whole methods at the same model size and batch, from their small recipes: how
 * much a method costs per image, hence per epoch. Steps of the methods alternate (A, B, A, B, ...) so
 * that a busy machine slows them alike; the median wall time and the process CPU time per step are
 * reported, with the ratio to the first method.
 *
 * <p>What is timed is the session step on one fixed batch of the recipe's pipeline (not the data
 * pipeline). BEiT v2 is timed without its frozen VQ-KD tokenizer, which in a real run encodes every
 * batch before the step (a full ViT forward pass): its figure is a lower bound.
 */
public final class MethodStepBench {
  private MethodStepBench() {}

  /** One method ready to step. */
  private record Entry(String name, MimMethod method, StepGraph sg, Session session, Batch batch,
      Map<String, Double> scalars, Recipe recipe) {}

  public static Json.Obj run(Path graphs, List<String> methods, int warmup, int steps, List<String> overrides,
      PrintStream out) {
    List<Entry> entries = new ArrayList<>();
    try {
      for (String m : methods) {
        entries.add(prepare(graphs, m, overrides, out));
      }
      int n = entries.size();
      double[][] wall = new double[n][steps];
      double[][] cpu = new double[n][steps];
      var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
      for (int i = 0; i < warmup + steps; i++) {
        for (int e = 0; e < n; e++) {
          Entry en = entries.get(e);
          long c0 = os.getProcessCpuTime();
          long t0 = System.nanoTime();
          en.sg().step(en.session(), en.batch(), i, 1e-4, 0.05, en.scalars(), 0, true, null);
          if (i >= warmup) {
            wall[e][i - warmup] = (System.nanoTime() - t0) / 1e6;
            cpu[e][i - warmup] = (os.getProcessCpuTime() - c0) / 1e6;
          }
        }
        if ((i + 1) % Math.max(1, (warmup + steps) / 5) == 0) {
          out.printf("step %d/%d%n", i + 1, warmup + steps);
        }
      }
      List<Object> results = new ArrayList<>();
      double refWall = 0;
      double refCpu = 0;
      for (int e = 0; e < n; e++) {
        Entry en = entries.get(e);
        double w = median(wall[e]);
        double c = median(cpu[e]);
        if (e == 0) {
          refWall = w;
          refCpu = c;
        }
        int batch = en.batch().size();
        VitConfig vit = VitConfig.from(en.recipe().getModel());
        out.printf("%-8s median %.1f ms/step wall (%.1f ms CPU), %.1f images/s, x%.2f the wall time of %s%n",
            en.name(), w, c, batch * 1000.0 / w, w / refWall, entries.get(0).name());
        results.add(Json.obj().put("method", en.name()).put("batch", batch).put("width", vit.width())
            .put("depth", vit.depth()).put("patches", vit.numPatches()).put("ms_per_step", w)
            .put("cpu_ms_per_step", c).put("images_per_s", batch * 1000.0 / w)
            .put("wall_ratio", w / refWall).put("cpu_ratio", c / refCpu)
            .put("trainable_parameters", en.sg().params().trainableCount()).asMap());
      }
      return Json.obj().put("bench", "method-step").put("steps", steps).put("warmup", warmup)
          .put("results", results);
    } finally {
      for (Entry e : entries) {
        e.session().close();
        e.sg().close();
      }
    }
  }

  private static Entry prepare(Path graphs, String name, List<String> overrides, PrintStream out) {
    Path file = graphs.resolve(name + "_fmnist_small.pbtxt");
    if (!java.nio.file.Files.exists(file)) {
      throw new UserException("no recipe " + file + " (run from the repository root)");
    }
    Recipe r = RecipeLoader.load(file, overrides);
    VitConfig vit = VitConfig.from(r.getModel());
    int n = vit.numPatches();
    List<SampleStage> stages = new ArrayList<>();
    MimMethod m;
    switch (name) {
      case "moca" -> m = new org.mimtf.methods.moca.MocaMethod(r);
      case "beitv2" -> {
        m = new org.mimtf.methods.beitv2.Beitv2Method(r, null);
        stages.add(Stages.reserve(FieldSpec.of("tokens", FieldSpec.DType.INT32, n)));
      }
      case "ccvit" -> {
        int k = r.getCcvit().getTokenizer().getNumCentroids();
        float[] c = new float[k * vit.patchDim()];
        SplittableRandom rng = new SplittableRandom(1);
        for (int i = 0; i < c.length; i++) {
          c[i] = (float) rng.nextDouble();
        }
        m = new org.mimtf.methods.ccvit.CcvitMethod(r, c, k);
        stages.addAll(m.extraStages());
      }
      default -> throw new UserException("method-step knows moca, beitv2 and ccvit, not '" + name + "'");
    }
    Batch batch;
    List<FieldSpec> fields;
    try (Pipeline p = PipelineFactory.training(r, stages, 0)) {
      fields = p.fields();
      Batch b = p.next();
      batch = Batch.allocate(fields, b.size());
      for (FieldSpec f : fields) {
        switch (f.dtype()) {
          case FLOAT32 -> System.arraycopy(b.floats(f.name()), 0, batch.floats(f.name()), 0, b.floats(f.name()).length);
          case INT32 -> System.arraycopy(b.ints(f.name()), 0, batch.ints(f.name()), 0, b.ints(f.name()).length);
          case INT64 -> System.arraycopy(b.longs(f.name()), 0, batch.longs(f.name()), 0, b.longs(f.name()).length);
          case BOOL -> System.arraycopy(b.bools(f.name()), 0, batch.bools(f.name()), 0, b.bools(f.name()).length);
        }
      }
    }
    if (batch.has("tokens")) {
      SplittableRandom rng = new SplittableRandom(2);
      int[] t = batch.ints("tokens");
      int vocab = r.getBeitv2().getTokenizer().getCodebookSize();
      for (int i = 0; i < t.length; i++) {
        t[i] = rng.nextInt(vocab);
      }
    }
    StepGraph sg = new StepGraph(m, fields, r.getOptimizer(), Compute.fp32(), 1, r.getModel().getInitSeed());
    Session s = new Session(sg.graph(), SessionConfigs.training(r.getTraining()));
    s.initialize();
    Map<String, Double> scalars = new LinkedHashMap<>();
    m.scalarSchedules(1000).forEach((k, v) -> scalars.put(k, v.at(0)));
    out.printf("%s: %,d trainable parameters, batch %d, %dx%d model on %d patches%n", name,
        sg.params().trainableCount(), batch.size(), vit.width(), vit.depth(), n);
    return new Entry(name, m, sg, s, batch, scalars, r);
  }

  private static double median(double[] a) {
    double[] s = a.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }
}
