package org.mimtf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mimtf.bench.MaskedTokenModel;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Param;
import org.tensorflow.Session;

/** Gradient accumulation and layer-wise learning-rate decay, through the real training graph. */
class OptimizationTest {
  static Map<String, float[]> weights(StepGraph sg, Session s) {
    Map<String, float[]> w = new HashMap<>();
    for (Param p : sg.params().trainable()) {
      w.put(p.name(), MixedPrecisionTest.read(s, p.name()));
    }
    return w;
  }

  /** Rows [from, from + n) of every field of {@code b}. */
  static Batch slice(Batch b, int from, int n) {
    Batch out = Batch.allocate(List.copyOf(b.specs().values()), n);
    for (FieldSpec f : b.specs().values()) {
      int e = f.elementSize();
      switch (f.dtype()) {
        case FLOAT32 -> System.arraycopy(b.floats(f.name()), from * e, out.floats(f.name()), 0, n * e);
        case INT32 -> System.arraycopy(b.ints(f.name()), from * e, out.ints(f.name()), 0, n * e);
        case BOOL -> System.arraycopy(b.bools(f.name()), from * e, out.bools(f.name()), 0, n * e);
        case INT64 -> System.arraycopy(b.longs(f.name()), from * e, out.longs(f.name()), 0, n * e);
      }
    }
    return out;
  }

  @Test
  void accumulatingTwoHalfBatchesEqualsOneStepOnTheWholeBatch() {
    MaskedTokenModel m = TowersTest.model();
    OptimizerConfig opt = OptimizerConfig.newBuilder().setClipGradNorm(0.5f).build();
    Batch full = TowersTest.batch(m);
    Map<String, float[]> one;
    try (StepGraph sg = new StepGraph(m, m.fields(), opt, Compute.fp32(), 1, 0); Session s = new Session(sg.graph())) {
      s.initialize();
      sg.step(s, full, 0, 1e-2, 0.05, Map.of(), 0, true, null);
      one = weights(sg, s);
    }
    MaskedTokenModel m2 = TowersTest.model();
    try (StepGraph sg = new StepGraph(m2, m2.fields(), opt, Compute.fp32(), 2, 0);
        Session s = new Session(sg.graph())) {
      s.initialize();
      sg.step(s, slice(full, 0, 4), 0, 1e-2, 0.05, Map.of(), 0, false, null);
      sg.step(s, slice(full, 4, 4), 0, 1e-2, 0.05, Map.of(), 0, true, null);
      Map<String, float[]> acc = weights(sg, s);
      double max = 0;
      for (var e : one.entrySet()) {
        for (int i = 0; i < e.getValue().length; i++) {
          max = Math.max(max, Math.abs(e.getValue()[i] - acc.get(e.getKey())[i]));
        }
      }
      // Each half holds the same number of masked tokens, so the mean of the halves' mean losses is the
      // full batch's mean loss and the gradients agree up to float summation order. Adam's first step
      // divides by |g|, which magnifies that noise for the smallest gradients: a step moves weights by
      // ~1e-2 here, we allow 1e-5 (0.1 % of a step).
      assertTrue(max < 1e-5, "weights differ by " + max);
      // the accumulators were reset: a second accumulated step starts from zero again
      sg.step(s, slice(full, 0, 4), 1, 1e-2, 0.05, Map.of(), 0, false, null);
      float[] sum = MixedPrecisionTest.read(s, "accumulators/heads.mim.kernel.sum");
      assertTrue(sum.length > 0);
    }
  }

  /**
   * The norms are a pass over every gradient and parameter: fetched only when asked (the trainer asks
   * on the steps it logs), and leaving them out changes neither the loss nor the update (with
   * clipping on, the gradient norm is computed for the update all the same).
   */
  @Test
  void normsAreFetchedOnlyWhenAskedAndDoNotChangeTheStep() {
    OptimizerConfig opt = OptimizerConfig.newBuilder().setClipGradNorm(0.5f).build();
    Map<String, float[]>[] after = new Map[2];
    for (int run = 0; run < 2; run++) {
      MaskedTokenModel m = TowersTest.model();
      try (StepGraph sg = new StepGraph(m, m.fields(), opt, Compute.fp32(), 1, 0); Session s = new Session(sg.graph())) {
        s.initialize();
        boolean norms = run == 1;
        Map<String, Double> v = sg.step(s, TowersTest.batch(m), 0, 1e-2, 0.05, Map.of(), 0, true, null, norms);
        assertEquals(norms, v.containsKey("grad_norm"), "grad_norm fetched: " + v.keySet());
        assertEquals(norms, v.containsKey("param_norm"), "param_norm fetched: " + v.keySet());
        if (norms) {
          assertTrue(v.get("grad_norm") > 0 && v.get("param_norm") > 0, v.toString());
        }
        after[run] = weights(sg, s);
      }
    }
    for (var e : after[0].entrySet()) {
      org.junit.jupiter.api.Assertions.assertArrayEquals(e.getValue(), after[1].get(e.getKey()), 0f, e.getKey());
    }
  }

  /**
   * BEiT's layer decay: lr · decay^(L+1 − layer). Adam's first step moves each weight by about its
   * learning rate (m̂/√v̂ = ±1), so the largest change of a parameter measures its learning rate.
   */
  @Test
  void layerDecayScalesEachLayersLearningRate() {
    MaskedTokenModel m = TowersTest.model();
    OptimizerConfig opt = OptimizerConfig.newBuilder().setLayerDecay(0.5f).setWeightDecay(0f).build();
    try (StepGraph sg = new StepGraph(m, m.fields(), opt, Compute.fp32(), 1, 0); Session s = new Session(sg.graph())) {
      s.initialize();
      Map<String, float[]> before = weights(sg, s);
      double lr = 1e-3;
      sg.step(s, TowersTest.batch(m), 0, lr, 0, Map.of(), 0, true, null);
      Map<String, float[]> after = weights(sg, s);
      // depth 2: patch embedding layer 0 → 0.5^3; block 0 layer 1 → 0.5^2; head layer 3 → 1
      Map<String, Double> expected = Map.of(
          "encoder/patch_embed/proj/kernel", lr * 0.125,
          "encoder/blocks/0/mlp/fc1/kernel", lr * 0.25,
          "encoder/blocks/1/mlp/fc1/kernel", lr * 0.5,
          "heads/mim/kernel", lr);
      for (var e : expected.entrySet()) {
        float[] a = before.get(e.getKey());
        float[] b = after.get(e.getKey());
        double max = 0;
        for (int i = 0; i < a.length; i++) {
          max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        assertEquals(e.getValue(), max, 0.02 * e.getValue(), e.getKey());
      }
    }
  }
}
