package org.mimtf.methods.conmim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mimtf.api.Schedule;
import org.mimtf.config.proto.ConmimConfig;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Param;
import org.mimtf.train.StepGraph;
import org.tensorflow.Session;

/**
 * The ConMIM graph: the momentum network (exact copy at start, frozen, EMA after every step with the
 * cosine momentum schedule), the export choice, and that no gradient reaches the momentum network.
 */
class ConmimMethodTest {
  static final double M0 = 0.996;

  @Test
  void momentumRisesFrom0996To1OnACosinePerIteration() {
    Recipe r = ConmimFixtures.recipe("conmim.teacher_momentum=0.996");
    Schedule m = new ConmimMethod(r).scalarSchedules(1000).get(ConmimMethod.MOMENTUM);
    assertEquals(0.996, m.at(0), 1e-12);
    assertEquals(0.998, m.at(500), 1e-12, "half way: the mean of 0.996 and 1");
    assertEquals(1.0, m.at(1000), 1e-12);
    // m_it = 1 + ½(m0 − 1)(1 + cos(π·it/T)), run_conmim_pretraining.py momentum_schedule
    for (int it : new int[] {1, 137, 250, 999}) {
      assertEquals(1 + 0.5 * (M0 - 1) * (1 + Math.cos(Math.PI * it / 1000.0)), m.at(it), 1e-12, "it " + it);
    }
    for (int it = 1; it <= 1000; it++) {
      assertTrue(m.at(it) >= m.at(it - 1), "non-decreasing at " + it);
    }
  }

  private static StepGraph graph(ConmimMethod m) {
    return new StepGraph(m, ConmimFixtures.fields(), OptimizerConfig.newBuilder().setBeta2(0.98f)
        .setClipGradNorm(3f).build(), Compute.fp32(), 1, 0);
  }

  @Test
  void theMomentumNetworkIsAFrozenExactCopyWithoutMaskToken() {
    ConmimMethod m = new ConmimMethod(ConmimFixtures.recipe());
    try (StepGraph sg = graph(m); Session s = new Session(sg.graph())) {
      s.initialize();
      List<Param> momentum = sg.params().under("momentum/");
      assertTrue(momentum.stream().noneMatch(Param::trainable), "the momentum network is not trained");
      assertTrue(sg.params().trainable().stream().noneMatch(p -> p.name().startsWith("momentum/")));
      assertTrue(sg.params().all().stream().anyMatch(p -> p.name().equals("encoder/mask_token")));
      assertTrue(momentum.stream().noneMatch(p -> p.name().contains("mask_token")));
      // encoder + projector, each momentum parameter has its online twin with the same initial value
      assertEquals(momentum.size(), m.ema().size());
      assertTrue(momentum.stream().anyMatch(p -> p.name().equals("momentum/projector/2/kernel")));
      assertTrue(momentum.stream().anyMatch(p -> p.name().equals("momentum/projector/0/bn/gamma")));
      for (Param p : momentum) {
        Param online = sg.params().get(p.name().substring("momentum/".length()));
        assertArrayEquals(ConmimFixtures.read(s, online), ConmimFixtures.read(s, p), p.name());
      }
    }
  }

  /**
   * One optimizer step, then θ_m ← m·θ_m + (1 − m)·θ with θ the online weights AFTER the step: exactly
   * (in float arithmetic, bit for bit), for every momentum parameter.
   */
  @Test
  void afterOneStepTheMomentumWeightsAreExactlyTheEmaOfTheUpdatedOnlineWeights() {
    ConmimMethod m = new ConmimMethod(ConmimFixtures.recipe());
    float mom = 0.9f;
    try (StepGraph sg = graph(m); Session s = new Session(sg.graph())) {
      s.initialize();
      Map<String, float[]> before = ConmimFixtures.readAll(s, sg);
      Batch b = ConmimFixtures.batch(8, 3);
      var v = sg.step(s, b, 0, 1e-3, 0.05, Map.of(ConmimMethod.MOMENTUM, (double) mom), 0, true, null);
      assertEquals(mom, v.get("momentum"), 1e-7, "the momentum metric is this step's value");
      assertEquals(1.0, v.get("weight_cosine"), 1e-6, "before the first update the copy is exact");
      Map<String, float[]> after = ConmimFixtures.readAll(s, sg);
      float rate = 1f - mom;
      int moved = 0;
      for (Param p : sg.params().under("momentum/")) {
        String online = p.name().substring("momentum/".length());
        float[] t0 = before.get(p.name());
        float[] o1 = after.get(online);
        float[] t1 = after.get(p.name());
        for (int i = 0; i < t1.length; i++) {
          float want = mom * t0[i] + rate * o1[i];
          assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(t1[i]),
              p.name() + "[" + i + "]: " + t1[i] + " vs m·θm + (1−m)·θ = " + want);
        }
        moved += java.util.Arrays.equals(t0, t1) ? 0 : 1;
        assertFalse(java.util.Arrays.equals(before.get(online), o1) && p.name().endsWith("kernel"),
            online + " did not move: the check would be vacuous");
      }
      assertTrue(moved > 10, "momentum parameters moved: " + moved);
    }
  }

  /**
   * With m = 1 the momentum weights stay bit-identical through training steps with a large learning
   * rate while the online ones move: no gradient (and no optimizer update) reaches them.
   */
  @Test
  void noGradientReachesTheMomentumNetwork() {
    ConmimMethod m = new ConmimMethod(ConmimFixtures.recipe());
    try (StepGraph sg = graph(m); Session s = new Session(sg.graph())) {
      s.initialize();
      Map<String, float[]> before = ConmimFixtures.readAll(s, sg);
      for (int i = 0; i < 2; i++) {
        sg.step(s, ConmimFixtures.batch(8, 10 + i), i, 1e-2, 0.05, Map.of(ConmimMethod.MOMENTUM, 1.0), 0, true, null);
      }
      Map<String, float[]> after = ConmimFixtures.readAll(s, sg);
      for (Param p : sg.params().under("momentum/")) {
        assertArrayEquals(before.get(p.name()), after.get(p.name()), p.name() + " changed");
      }
      assertFalse(java.util.Arrays.equals(before.get("encoder/blocks/0/attn/qkv/kernel"),
          after.get("encoder/blocks/0/attn/qkv/kernel")), "the online network trained");
      assertFalse(java.util.Arrays.equals(before.get("projector/0/kernel"), after.get("projector/0/kernel")));
    }
  }

  @Test
  void theMomentumEncoderIsExportedUnlessOnlineIsAsked() {
    Recipe r = ConmimFixtures.recipe();
    assertEquals("momentum/encoder", MethodRegistry.create(r).encoder().scope());
    Recipe online = ConmimFixtures.recipe("conmim.export_encoder=ONLINE");
    assertEquals(ConmimConfig.ExportEncoder.ONLINE, online.getConmim().getExportEncoder());
    assertEquals("encoder", MethodRegistry.create(online).encoder().scope());
  }
}
