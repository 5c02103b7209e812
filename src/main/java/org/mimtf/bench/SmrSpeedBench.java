package org.mimtf.bench;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.methods.beitv2.Beitv2Method;
import org.mimtf.methods.smr.SmrMethod;
import org.mimtf.nn.Compute;
import org.mimtf.train.SessionConfigs;
import org.mimtf.train.StepGraph;
import org.mimtf.util.Json;
import org.tensorflow.Session;

/**
 * SMR's speed claim (paper §3.3: "SMR is 15%–20% faster than BEiT and SD" in pre-training): the time
 * of one training step (forward, backward, AdamW) of SMR's student — compressing encoder + 2-block
 * decoder — against BEiT v2's — full-length encoder + MIM head + 2-block aggregation head — at the same
 * encoder size, on synthetic batches. The frozen models beside the session (SMR's teacher, BEiT v2's
 * tokenizer) are not part of this step; both methods run one (their cost is in {@code
 * batch_models_ms} of a training log). The two methods alternate in rounds so that machine load hits
 * both alike; the median step is reported.
 */
public final class SmrSpeedBench {
  private SmrSpeedBench() {}

  /** A size to compare: both methods' recipes (overrides applied) and the teacher width SMR regresses. */
  public record Setting(String name, String smrRecipe, String beitRecipe, int batch, int teacherDim) {}

  public static final Setting FMNIST_SMALL = new Setting("fmnist_small", "smr_fmnist_small.pbtxt",
      "beitv2_fmnist_small.pbtxt", 128, 128);
  public static final Setting VIT_B16 = new Setting("vit_b16", "smr_vit_b16.pbtxt", "beitv2_vit_b16.pbtxt", 16,
      768);

  /** Runs {@code rounds} rounds of {@code stepsPerRound} steps of each method after one warm-up round. */
  public static Json.Obj run(Path graphs, Setting s, int rounds, int stepsPerRound, PrintStream out) {
    List<String> o = List.of("training.batch_size=" + s.batch(), "training.grad_accum_steps=1",
        "training.devices=cpu");
    Recipe smr = RecipeLoader.load(graphs.resolve(s.smrRecipe()), o);
    Recipe beit = RecipeLoader.load(graphs.resolve(s.beitRecipe()), o);
    var m = smr.getModel();
    int n = (m.getImageSize() / m.getPatchSize()) * (m.getImageSize() / m.getPatchSize());
    int c = m.getChannels();
    int size = m.getImageSize();
    SmrMethod smrMethod = new SmrMethod(smr, null, s.teacherDim());
    List<FieldSpec> smrFields = List.of(FieldSpec.of("image", FieldSpec.DType.FLOAT32, size, size, c),
        FieldSpec.of(SmrMethod.TEACHER_FIELD, FieldSpec.DType.FLOAT32, n, s.teacherDim()));
    Beitv2Method beitMethod = new Beitv2Method(beit, null);
    List<FieldSpec> beitFields = List.of(FieldSpec.of("image", FieldSpec.DType.FLOAT32, size, size, c),
        FieldSpec.of("mask", FieldSpec.DType.BOOL, n), FieldSpec.of("tokens", FieldSpec.DType.INT32, n));
    int masked = beit.getMasking().getBlock().getNumMaskingPatches();
    int vocab = beit.getBeitv2().getTokenizer().getCodebookSize();
    Batch sb = fill(Batch.allocate(smrFields, s.batch()), n, masked, vocab);
    Batch bb = fill(Batch.allocate(beitFields, s.batch()), n, masked, vocab);
    TrainingConfig t = TrainingConfig.newBuilder().setDevices("cpu").build();
    List<Double> smrMs = new ArrayList<>();
    List<Double> beitMs = new ArrayList<>();
    try (StepGraph g1 = new StepGraph(smrMethod, smrFields, smr.getOptimizer(), Compute.fp32(), 1, 0);
        Session s1 = new Session(g1.graph(), SessionConfigs.training(t, List.of()));
        StepGraph g2 = new StepGraph(beitMethod, beitFields, beit.getOptimizer(), Compute.fp32(), 1, 0);
        Session s2 = new Session(g2.graph(), SessionConfigs.training(t, List.of()))) {
      s1.initialize();
      s2.initialize();
      long step = 0;
      for (int round = 0; round <= rounds; round++) {
        List<Double> a = time(g1, s1, sb, stepsPerRound, step);
        List<Double> b = time(g2, s2, bb, stepsPerRound, step);
        step += stepsPerRound;
        if (round > 0) {
          smrMs.addAll(a);
          beitMs.addAll(b);
        }
        out.printf("%s round %d/%d: SMR %.1f ms/step, BEiT v2 %.1f ms/step%n", s.name(), round, rounds, median(a),
            median(b));
      }
    }
    double ms1 = median(smrMs);
    double ms2 = median(beitMs);
    int[] tokens = smrMethod.compression().tokensAfterBlocks(n, smr.getModel().getDepth());
    out.printf("%s (batch %d): SMR %.1f ms/step vs BEiT v2 %.1f ms/step: SMR %.1f%% faster%n", s.name(), s.batch(),
        ms1, ms2, 100 * (1 - ms1 / ms2));
    return Json.obj().put("setting", s.name()).put("batch", s.batch()).put("steps_each", smrMs.size())
        .put("smr_ms_per_step", ms1).put("beitv2_ms_per_step", ms2).put("smr_faster_fraction", 1 - ms1 / ms2)
        .put("smr_tokens_after_blocks", Arrays.stream(tokens).boxed().toList())
        .put("smr_attention_cost_ratio", attentionCostRatio(tokens, n));
  }

  /**
   * The paper's complexity argument: Σ_l M_l² of SMR's encoder over L·M² of a full-length encoder
   * (M_l = tokens block l attends over; a compressing block attends before it compresses).
   */
  static double attentionCostRatio(int[] after, int n) {
    double full = 0;
    double smr = 0;
    int before = n + 1;
    for (int t : after) {
      full += (double) (n + 1) * (n + 1);
      smr += (double) before * before;
      before = t;
    }
    return smr / full;
  }

  private static List<Double> time(StepGraph g, Session s, Batch b, int steps, long first) {
    List<Double> ms = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      long t0 = System.nanoTime();
      g.step(s, b, first + i, 1e-4, 0.05, Map.of(), 0, true, null);
      ms.add((System.nanoTime() - t0) / 1e6);
    }
    return ms;
  }

  private static Batch fill(Batch b, int n, int masked, int vocab) {
    SplittableRandom r = new SplittableRandom(0);
    for (String f : List.of("image", SmrMethod.TEACHER_FIELD)) {
      if (b.has(f)) {
        float[] a = b.floats(f);
        for (int i = 0; i < a.length; i++) {
          a[i] = (float) r.nextDouble();
        }
      }
    }
    if (b.has("mask")) {
      boolean[] mask = b.bools("mask");
      int[] tok = b.ints("tokens");
      for (int e = 0; e < b.size(); e++) {
        for (int j = 0; j < masked; j++) {
          mask[e * n + (j * 5 + e) % n] = true; // distinct: gcd(5, n) = 1 for n = 49, 196
        }
        for (int j = 0; j < n; j++) {
          tok[e * n + j] = r.nextInt(vocab);
        }
      }
    }
    return b;
  }

  private static double median(List<Double> v) {
    double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return a.length == 0 ? Double.NaN : a[a.length / 2];
  }
}
