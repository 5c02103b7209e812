package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.ModelConfig;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

class EmaTest {
  private static VitConfig cfg() {
    return new VitConfig(16, 2, 2, 32, 8, 4, 1, ModelConfig.AbsPosEmbedding.SINCOS_2D, ModelConfig.RelPosBias.REL_NONE,
        ModelConfig.QkvBias.QKV_BIAS, 0f, 0f, 1e-6f, ModelConfig.Init.MAE, null, null, 4);
  }

  @Test
  void momentumCopyStartsIdenticalIsFrozenAndMovesByTheEmaRule() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer.create(ps, tf.withSubScope("encoder"), cfg(), false);
      ps.aliasSeeds("momentum/encoder/", "encoder/");
      ps.freeze("momentum/");
      VisionTransformer.create(ps, tf.withSubScope("momentum").withSubScope("encoder"), cfg(), false);
      Ema ema = Ema.between(ps, "encoder/", "momentum/encoder/");
      assertEquals(ps.under("encoder/").size(), ema.size());
      assertTrue(ps.under("momentum/").stream().noneMatch(Param::trainable));
      assertTrue(ps.under("encoder/").stream().allMatch(Param::trainable));
      Param online = ps.get("encoder/blocks/1/mlp/fc1/kernel");
      Param teacher = ps.get("momentum/encoder/blocks/1/mlp/fc1/kernel");
      // move the online weights, then one EMA step with m = 0.9
      var bump = tf.assignAdd(online.variable(), tf.fill(tf.constant(new int[] {16, 32}), tf.constant(1f)));
      Operand<TFloat32> m = tf.constant(0.9f);
      var update = ema.update(tf, m);
      Operand<TFloat32> cos = ema.cosine(tf);
      try (Session s = new Session(g)) {
        s.initialize();
        float[] t0 = GraphTesting.read(s, teacher.read());
        assertArrayEquals(GraphTesting.read(s, online.read()), t0, "the copy starts as an exact copy");
        assertEquals(1f, GraphTesting.read(s, cos)[0], 1e-6f);
        s.runner().addTarget(bump).run();
        float[] o1 = GraphTesting.read(s, online.read());
        s.runner().addTarget(update).run();
        float[] t1 = GraphTesting.read(s, teacher.read());
        for (int i = 0; i < t1.length; i++) {
          assertEquals(0.9f * t0[i] + 0.1f * o1[i], t1[i], 1e-6f, "θm = m·θm + (1−m)·θ at " + i);
        }
        assertFalse(GraphTesting.read(s, cos)[0] > 0.999999f, "weights now differ");
      }
      assertEquals(List.of(), ps.under("momentum/").stream().filter(Param::trainable).toList());
    }
  }
}
