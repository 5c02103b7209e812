package org.mimtf.methods.conmim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.nn.Compute;
import org.mimtf.train.SessionConfigs;
import org.mimtf.train.StepGraph;
import org.tensorflow.Session;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;

/**
 * ConMIM on two virtual CPU towers trains exactly like one device on the whole batch: the projectors'
 * BatchNorm statistics (online and momentum) are those of the GLOBAL batch, so the loss, every
 * online weight and every momentum weight (which follows the online ones by EMA) agree; per-tower
 * statistics would not (checked against a run that normalises each half on its own). The backward
 * pass of tower 1, projector included, runs on tower 1's device.
 */
class ConmimTowersTest {
  static final int BATCH = 8;
  static final int STEPS = 3;

  record Run(List<Double> losses, List<Double> accuracies, List<Double> gradNorms, Map<String, float[]> weights) {}

  static Run train(List<String> devices) {
    ConmimMethod m = new ConmimMethod(ConmimFixtures.recipe());
    // Adam's ε at 1e-4 instead of 1e-8: some parameters have an exactly zero gradient in exact
    // arithmetic (the final LayerNorm's β: a constant shift of every token that the projector's first
    // BatchNorm removes), and Adam turns their float-noise gradients (different summation order on
    // two towers) into full-size steps g/|g|·lr. A larger ε keeps noise small and real steps large.
    OptimizerConfig opt = OptimizerConfig.newBuilder().setBeta2(0.98f).setEpsilon(1e-4f).setClipGradNorm(3f).build();
    List<Double> losses = new ArrayList<>();
    List<Double> acc = new ArrayList<>();
    List<Double> gradNorms = new ArrayList<>();
    try (StepGraph sg = new StepGraph(m, ConmimFixtures.fields(), opt, Compute.fp32(), 1, 0, devices);
        Session s = new Session(sg.graph(), SessionConfigs.training(TrainingConfig.getDefaultInstance(), devices))) {
      s.initialize();
      for (int i = 0; i < STEPS; i++) {
        Batch b = ConmimFixtures.batch(BATCH, 20 + i);
        var v = sg.step(s, b, i, 5e-3, 0.05, Map.of(ConmimMethod.MOMENTUM, 0.9), 0, true, null);
        losses.add(v.get("loss"));
        acc.add(v.get("match_acc"));
        gradNorms.add(v.get("grad_norm"));
      }
      return new Run(losses, acc, gradNorms, ConmimFixtures.readAll(s, sg));
    }
  }

  @Test
  void twoTowersTrainLikeOneDeviceOnlineAndMomentumNetworks() {
    Run one = train(List.of());
    Run two = train(List.of("/device:CPU:0", "/device:CPU:1"));
    for (int i = 0; i < STEPS; i++) {
      assertEquals(one.losses().get(i), two.losses().get(i), 1e-5 * Math.abs(one.losses().get(i)),
          "loss of step " + (i + 1));
      assertEquals(one.accuracies().get(i), two.accuracies().get(i), 1e-6, "match accuracy of step " + (i + 1));
      assertEquals(one.gradNorms().get(i), two.gradNorms().get(i), 2e-4 * one.gradNorms().get(i),
          "gradient norm of step " + (i + 1));
    }
    double online = 0;
    double momentum = 0;
    double moved = 0;
    Map<String, float[]> init = initialWeights();
    for (var e : one.weights().entrySet()) {
      float[] a = e.getValue();
      float[] b = two.weights().get(e.getKey());
      for (int k = 0; k < a.length; k++) {
        double d = Math.abs(a[k] - b[k]);
        if (e.getKey().startsWith("momentum/")) {
          momentum = Math.max(momentum, d);
          moved = Math.max(moved, Math.abs(a[k] - init.get(e.getKey())[k]));
        } else {
          online = Math.max(online, d);
        }
      }
    }
    System.out.println("max weight differences: online " + online + ", momentum " + momentum + ", moved " + moved);
    assertTrue(online < 1e-4, "online weights differ by " + online);
    assertTrue(momentum < 1e-4, "momentum weights differ by " + momentum);
    assertTrue(moved > 1e-4, "the momentum weights moved (" + moved + "), so the comparison has teeth");
  }

  private static Map<String, float[]> initialWeights() {
    ConmimMethod m = new ConmimMethod(ConmimFixtures.recipe());
    try (StepGraph sg = new StepGraph(m, ConmimFixtures.fields(), OptimizerConfig.getDefaultInstance(),
        Compute.fp32(), 1, 0); Session s = new Session(sg.graph())) {
      s.initialize();
      return ConmimFixtures.readAll(s, sg);
    }
  }

  /**
   * The same first loss computed with per-tower statistics (each half of the batch normalised on its
   * own, as plain BatchNorm under data parallelism would) differs: the agreement above is not luck.
   */
  @Test
  void perTowerStatisticsWouldGiveADifferentLoss() {
    Batch full = ConmimFixtures.batch(BATCH, 20);
    double global = firstLoss(full);
    double halves = 0;
    for (int h = 0; h < 2; h++) {
      Batch half = Batch.allocate(ConmimFixtures.fields(), BATCH / 2);
      for (String f : List.of("weak", "strong")) {
        int per = 28 * 28;
        System.arraycopy(full.floats(f), h * (BATCH / 2) * per, half.floats(f), 0, (BATCH / 2) * per);
      }
      System.arraycopy(full.bools("mask"), h * (BATCH / 2) * 49, half.bools("mask"), 0, (BATCH / 2) * 49);
      halves += firstLoss(half) / 2;
    }
    assertTrue(Math.abs(global - halves) > 1e-3 * Math.abs(global),
        "global " + global + " vs per-half statistics " + halves);
  }

  private static double firstLoss(Batch b) {
    ConmimMethod m = new ConmimMethod(ConmimFixtures.recipe());
    try (StepGraph sg = new StepGraph(m, ConmimFixtures.fields(), OptimizerConfig.getDefaultInstance(),
        Compute.fp32(), 1, 0); Session s = new Session(sg.graph())) {
      s.initialize();
      return sg.step(s, b, 0, 0, 0, Map.of(ConmimMethod.MOMENTUM, 0.9), 0, true, null).get("loss");
    }
  }

  @Test
  void towerOnesForwardAndBackwardRunOnItsDevice() {
    ConmimMethod m = new ConmimMethod(ConmimFixtures.recipe());
    List<String> devices = List.of("/device:CPU:0", "/device:CPU:1");
    try (StepGraph sg = new StepGraph(m, ConmimFixtures.fields(), OptimizerConfig.getDefaultInstance(),
        Compute.fp32(), 1, 0, devices)) {
      GraphDef gd = sg.graph().toGraphDef();
      int forward = 0;
      int backward = 0;
      int projectorMatmulsOn1 = 0;
      for (NodeDef n : gd.getNodeList()) {
        if (n.getName().startsWith("tower_1/")) {
          assertEquals("/device:CPU:1", n.getDevice(), n.getName());
          forward++;
        }
        if (n.getName().startsWith("coupled_gradients/") && n.getDevice().equals("/device:CPU:1")) {
          backward++;
          projectorMatmulsOn1 += n.getOp().equals("MatMul") ? 1 : 0;
        }
      }
      assertTrue(forward > 100, "tower 1 forward ops: " + forward);
      assertTrue(backward > 100, "tower 1 gradient ops placed on its device: " + backward);
      // 3 projector layers + patch embedding + 2 blocks × (qkv, proj, fc1, fc2): 2 matmuls each in backward
      assertTrue(projectorMatmulsOn1 >= 2 * (3 + 1 + 2 * 4), "backward matmuls on CPU:1: " + projectorMatmulsOn1);
    }
  }
}
