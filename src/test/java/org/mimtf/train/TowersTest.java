package org.mimtf.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.bench.MaskedTokenModel;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.nn.Compute;
import org.mimtf.nn.VitConfig;
import org.tensorflow.Session;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.types.TFloat32;

/**
 * Data-parallel towers on virtual CPU devices: N towers must train exactly like one device on the
 * whole batch, up to float summation order, and each tower's ops must run on its device.
 */
class TowersTest {
  static final int BATCH = 8;

  static MaskedTokenModel model() {
    VitConfig vit = new VitConfig(32, 2, 2, 64, 16, 4, 3, ModelConfig.AbsPosEmbedding.ABS_NONE,
        ModelConfig.RelPosBias.SHARED, ModelConfig.QkvBias.QV_BIAS, 0.1f, 0f, 1e-6f, ModelConfig.Init.BEIT,
        new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.5f, 0.5f}, 3);
    return new MaskedTokenModel(vit, 64);
  }

  /** A batch with exactly 6 of 16 patches masked per image, so every tower has the same count. */
  static Batch batch(MaskedTokenModel m) {
    Batch b = Batch.allocate(m.fields(), BATCH);
    SplittableRandom r = new SplittableRandom(12);
    float[] img = b.floats("image");
    for (int i = 0; i < img.length; i++) {
      img[i] = (float) r.nextDouble();
    }
    for (int i = 0; i < BATCH; i++) {
      for (int j = 0; j < 16; j++) {
        b.bools("mask")[i * 16 + j] = (j + i) % 8 < 3;
        b.ints("targets")[i * 16 + j] = r.nextInt(64);
      }
    }
    return b;
  }

  /** Three steps; returns the losses and every trainable weight after them. */
  static Map<String, float[]> train(List<String> devices, List<Double> losses) {
    MaskedTokenModel m = model();
    OptimizerConfig opt = OptimizerConfig.newBuilder().setClipGradNorm(1f).build();
    try (StepGraph sg = new StepGraph(m, m.fields(), opt, Compute.fp32(), 1, 0, devices);
        Session s = new Session(sg.graph(), SessionConfigs.training(TrainingConfig.getDefaultInstance(), devices))) {
      s.initialize();
      Batch b = batch(m);
      for (int i = 0; i < 3; i++) {
        losses.add(sg.step(s, b, i, 1e-2, 0.05, Map.of(), 0, true, null).get("loss"));
      }
      Map<String, float[]> w = new HashMap<>();
      for (var p : sg.params().trainable()) {
        try (var r = s.runner().fetch(p.name()).run()) {
          TFloat32 t = (TFloat32) r.get(0);
          float[] a = new float[(int) t.shape().size()];
          t.asRawTensor().data().asFloats().read(a);
          w.put(p.name(), a);
        }
      }
      return w;
    }
  }

  @Test
  void twoAndFourTowersTrainLikeOneDevice() {
    List<Double> ref = new ArrayList<>();
    Map<String, float[]> one = train(List.of(), ref);
    for (int n : new int[] {2, 4}) {
      List<String> devices = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        devices.add("/device:CPU:" + i);
      }
      List<Double> losses = new ArrayList<>();
      Map<String, float[]> w = train(devices, losses);
      for (int i = 0; i < 3; i++) {
        // Same math, different summation order: relative 1e-5 on the loss.
        assertEquals(ref.get(i), losses.get(i), 1e-5 * Math.abs(ref.get(i)), n + " towers, loss of step " + (i + 1));
      }
      double maxDiff = 0;
      for (var e : one.entrySet()) {
        float[] a = e.getValue();
        float[] b = w.get(e.getKey());
        for (int k = 0; k < a.length; k++) {
          maxDiff = Math.max(maxDiff, Math.abs(a[k] - b[k]));
        }
      }
      // Three Adam steps of lr 1e-2 move weights by ~3e-2; float-order noise is orders below.
      assertTrue(maxDiff < 1e-5, n + " towers: weights differ by " + maxDiff);
    }
  }

  @Test
  void eachTowersForwardAndBackwardRunOnItsDevice() {
    MaskedTokenModel m = model();
    List<String> devices = List.of("/device:CPU:0", "/device:CPU:1");
    try (StepGraph sg = new StepGraph(m, m.fields(), OptimizerConfig.getDefaultInstance(), Compute.fp32(), 1, 0,
        devices)) {
      GraphDef gd = sg.graph().toGraphDef();
      int gradOnTower1 = 0;
      for (NodeDef n : gd.getNodeList()) {
        if (n.getName().startsWith("tower_1/")) {
          assertEquals("/device:CPU:1", n.getDevice(), n.getName());
          gradOnTower1 += n.getName().contains("Gradients") ? 1 : 0;
        }
      }
      assertTrue(gradOnTower1 > 10, "the backward pass of tower 1 is placed too");
      try (Session s = new Session(sg.graph(), SessionConfigs.training(TrainingConfig.getDefaultInstance(),
          devices))) {
        s.initialize();
        Batch b = batch(m);
        var r = s.runner();
        List<org.tensorflow.Tensor> in = new ArrayList<>();
        for (var e : sg.batch.entrySet()) {
          var t = b.toTensor(e.getKey());
          in.add(t);
          r.feed(e.getValue(), t);
        }
        var lr = TFloat32.scalarOf(1e-3f);
        var wd = TFloat32.scalarOf(0f);
        var seed = org.tensorflow.types.TInt64.vectorOf(0, 0);
        in.add(lr);
        in.add(wd);
        in.add(seed);
        r.feed(sg.lr, lr).feed(sg.weightDecay, wd).feed(sg.seed, seed).addTarget(sg.applyTarget)
            .setOptions(RunOptions.newBuilder().setOutputPartitionGraphs(true).build());
        var res = r.runAndFetchMetadata();
        RunMetadata md = res.getMetadata().orElseThrow();
        boolean tower1Matmul = false;
        for (GraphDef part : md.getPartitionGraphsList()) {
          for (NodeDef n : part.getNodeList()) {
            if (n.getName().startsWith("tower_1/") && n.getOp().contains("MatMul")) {
              assertTrue(n.getDevice().endsWith("CPU:1"), n.getName() + " ran on " + n.getDevice());
              tower1Matmul = true;
            }
          }
        }
        res.close();
        in.forEach(org.tensorflow.Tensor::close);
        assertTrue(tower1Matmul, "tower 1's matmuls appear in the partition graphs");
      }
    }
  }
}
