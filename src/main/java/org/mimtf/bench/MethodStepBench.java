package org.mimtf.bench;

import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.api.BatchModel;
import org.mimtf.api.MimMethod;
import org.mimtf.api.Schedule;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.data.pipeline.SampleStage;
import org.mimtf.data.pipeline.Stages;
import org.mimtf.data.recipe.PipelineFactory;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.train.Devices;
import org.mimtf.train.SessionConfigs;
import org.mimtf.train.StepGraph;
import org.mimtf.util.Json;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * {@code bench method-step}: the time of one training step of a recipe's method — the batch models
 * it runs beside the session (BEiT v2's tokenizer) plus the session step (forward, backward, AdamW,
 * the method's after-update ops) — on one real batch of the recipe's pipeline, fed again and again
 * (the input pipeline is not timed). Comparing recipes of the same model size gives the relative
 * cost of methods, e.g. ConMIM's two encoders and projectors against BEiT v2's student and tokenizer
 * (the paper's Table 10 puts ConMIM at 1.05× BEiT's time per epoch).
 *
 * <p>A BEiT v2 recipe whose tokenizer has not been trained is timed with the tokenizer's cost
 * measured apart: the student step with random token ids, plus a forward pass of a randomly
 * initialised tokenizer encoder of the recipe's configuration on the same batch (the VQ-KD encoder
 * dominates the tokenizer; its two small task layers and the codebook look-up are left out, so the
 * BEiT v2 figure is a slight under-estimate).
 */
public final class MethodStepBench {
  private MethodStepBench() {}

  public static Json.Obj run(Recipe r, int warmup, int steps, PrintStream out) {
    return run(r, warmup, steps, 0, out);
  }

  /**
   * As {@link #run(Recipe, int, int, PrintStream)}; with {@code profiled > 0}, that many more steps
   * are traced ({@code FULL_TRACE} step stats) and their kernel time is printed by executed op type,
   * forward and backward apart, with the slowest nodes (under {@code "profile"} in the JSON).
   */
  public static Json.Obj run(Recipe r, int warmup, int steps, int profiled, PrintStream out) {
    boolean beitv2WithoutTokenizer = r.hasBeitv2()
        && !Files.exists(org.mimtf.methods.beitv2.VqkdTokenizer.savedModel(r).resolve("saved_model.pb"));
    MimMethod m = beitv2WithoutTokenizer ? new org.mimtf.methods.beitv2.Beitv2Method(r, null) : MethodRegistry.create(r);
    List<SampleStage> stages = new ArrayList<>(m.extraStages());
    int n = (r.getModel().getImageSize() / r.getModel().getPatchSize());
    n *= n;
    if (beitv2WithoutTokenizer) {
      stages.add(Stages.reserve(FieldSpec.of("tokens", FieldSpec.DType.INT32, n)));
    }
    for (BatchModel bm : m.batchModels()) {
      stages.add(Stages.reserve(bm.field()));
    }
    Batch b;
    List<FieldSpec> fields;
    try (Pipeline p = PipelineFactory.training(r, stages, 0)) {
      b = p.next();
      fields = p.fields();
    }
    if (beitv2WithoutTokenizer) {
      int vocab = r.getBeitv2().getTokenizer().getCodebookSize();
      int[] tok = b.ints("tokens");
      java.util.SplittableRandom rng = new java.util.SplittableRandom(0);
      for (int i = 0; i < tok.length; i++) {
        tok[i] = rng.nextInt(vocab);
      }
    }
    List<String> devices = Devices.towers(r.getTraining().getDevices());
    Compute compute = Devices.compute(r.getTraining(), devices);
    Map<String, Schedule> scalars = m.scalarSchedules(warmup + steps);
    double[] ms = new double[steps];
    Json.Obj profile = null;
    try (StepGraph sg = new StepGraph(m, fields, r.getOptimizer(), compute, 1, 0, devices);
        Session s = new Session(sg.graph(), SessionConfigs.training(r.getTraining(), devices))) {
      s.initialize();
      for (int i = 0; i < warmup + steps; i++) {
        Map<String, Double> sv = new LinkedHashMap<>();
        for (var e : scalars.entrySet()) {
          sv.put(e.getKey(), e.getValue().at(i));
        }
        long t0 = System.nanoTime();
        for (BatchModel bm : m.batchModels()) {
          bm.fill(b);
        }
        sg.step(s, b, i, 1e-4, 0.05, sv, 0, true, null, false);
        if (i >= warmup) {
          ms[i - warmup] = (System.nanoTime() - t0) / 1e6;
        }
      }
      if (profiled > 0) {
        for (BatchModel bm : m.batchModels()) {
          bm.fill(b);
        }
        Map<String, Double> sv = new LinkedHashMap<>();
        for (var e : scalars.entrySet()) {
          sv.put(e.getKey(), e.getValue().at(warmup + steps));
        }
        profile = profile(sg, s, b, warmup + steps, sv, profiled, out);
      }
    } finally {
      for (BatchModel bm : m.batchModels()) {
        bm.close();
      }
    }
    double step = median(ms);
    double tokenizer = beitv2WithoutTokenizer ? tokenizerForwardMs(r, b, warmup, steps) : 0;
    double total = step + tokenizer;
    int batch = b.size();
    out.printf("%s (%s): %.1f ms/step%s = %.1f images/s%n", r.getName(), m.name(), total,
        beitv2WithoutTokenizer ? String.format(" (student %.1f + tokenizer encoder %.1f)", step, tokenizer) : "",
        batch * 1000.0 / total);
    Json.Obj j = Json.obj().put("recipe", r.getName()).put("method", m.name()).put("batch", batch)
        .put("ms_per_step", total).put("images_per_s", batch * 1000.0 / total).put("ms_min", min(ms));
    if (profile != null) {
      j.put("profile", profile);
    }
    if (beitv2WithoutTokenizer) {
      j.put("student_ms", step).put("tokenizer_encoder_ms", tokenizer).put("tokenizer", "random init, timed apart");
    }
    return j;
  }

  /**
   * Traces {@code traced} session steps (the batch models beside the session are not traced) and
   * prints the kernel time per step by executed op type, forward and backward ({@code gradients/}
   * nodes) apart, and the slowest nodes. Op time is summed over the threads, so shares, not the sum,
   * compare with the wall time.
   */
  static Json.Obj profile(StepGraph sg, Session s, Batch b, long step, Map<String, Double> sv, int traced,
      PrintStream out) {
    Map<String, Double> byType = new java.util.TreeMap<>();
    Map<String, Double> byPass = new java.util.TreeMap<>();
    Map<String, Double> byNode = new java.util.TreeMap<>();
    for (int i = 0; i < traced; i++) {
      for (StepProfile.NodeTime n : StepProfile.traceStep(sg, s, b, step + i, 1e-4, sv).nodes()) {
        byType.merge(n.type(), n.micros(), Double::sum);
        byPass.merge(n.name().contains("gradients/") ? "backward" : "forward", n.micros(), Double::sum);
        byNode.merge(n.name() + " (" + n.type() + ")", n.micros(), Double::sum);
      }
    }
    double total = byType.values().stream().mapToDouble(Double::doubleValue).sum() / traced / 1000;
    out.printf("%d traced steps: op time %.1f ms/step (summed over threads)%n", traced, total);
    Json.Obj passes = StepProfile.table(out, "pass", byPass, traced, total, 0);
    Json.Obj types = StepProfile.table(out, "executed op type", byType, traced, total, 20);
    out.println("\nslowest nodes (ms/step):");
    byNode.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(25)
        .forEach(e -> out.printf("  %7.2f  %s%n", e.getValue() / traced / 1000, e.getKey()));
    return Json.obj().put("traced_steps", traced).put("op_ms_per_step", total).put("passes_ms", passes)
        .put("op_types_ms", types);
  }

  /** Median ms of a forward pass of the recipe's VQ-KD encoder (random init) on the batch's view. */
  static double tokenizerForwardMs(Recipe r, Batch b, int warmup, int steps) {
    VitConfig cfg = VitConfig.from(r.getBeitv2().getTokenizer().getEncoder());
    String view = r.getData().getView(0).getName();
    float[] img = b.floats(view);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      VisionTransformer v = VisionTransformer.create(new ParamStore(new Initializers(0)),
          tf.withSubScope("tokenizer").withSubScope("encoder"), cfg, false);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, cfg.imageSize(), cfg.imageSize(), cfg.channels())));
      var outTokens = v.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none()).patchTokens(tf);
      var sum = tf.sum(outTokens, tf.constant(new int[] {0, 1, 2}));
      double[] ms = new double[steps];
      try (Session s = new Session(g, SessionConfigs.inference())) {
        s.initialize();
        for (int i = 0; i < warmup + steps; i++) {
          long t0 = System.nanoTime();
          try (TFloat32 in = TFloat32.tensorOf(Shape.of(b.size(), cfg.imageSize(), cfg.imageSize(), cfg.channels()),
              org.tensorflow.ndarray.buffer.DataBuffers.of(img, true, false))) {
            s.runner().feed(x, in).fetch(sum).run().close();
          }
          if (i >= warmup) {
            ms[i - warmup] = (System.nanoTime() - t0) / 1e6;
          }
        }
      }
      return median(ms);
    }
  }

  static double median(double[] a) {
    double[] s = a.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  static double min(double[] a) {
    return Arrays.stream(a).min().orElse(Double.NaN);
  }
}
