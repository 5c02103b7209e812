package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.ModelConfig;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/** A network rebuilt over existing variables, reading them after an update op (MOCA's teacher after its EMA). */
class ParamStoreRebindTest {
  static VitConfig vit() {
    return new VitConfig(16, 1, 2, 32, 8, 4, 1, ModelConfig.AbsPosEmbedding.SINCOS_2D, ModelConfig.RelPosBias.REL_NONE,
        ModelConfig.QkvBias.QKV_BIAS, 0f, 0f, 1e-6f, ModelConfig.Init.MAE, null, null, 1);
  }

  @Test
  void aReboundNetworkReadsTheSameVariablesAfterTheGivenOps() {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer plain = VisionTransformer.create(ps, tf.withSubScope("net"), vit(), false);
      int created = ps.all().size();
      // An update that doubles every variable of the network.
      List<Op> doubles = ps.under("net/").stream()
          .map(p -> (Op) tf.assign(p.variable(), tf.math.mul(p.read(), tf.constant(2f)))).toList();
      Op update = tf.withControlDependencies(doubles).noOp();
      ParamStore view = ps.rebind("net/", (t, name, p) ->
          t.withControlDependencies(List.of(update)).withName(name + "_after").identity(p.variable()));
      VisionTransformer rebound = VisionTransformer.create(view, tf.withSubScope("net_after"), vit(), false);
      view.checkRebound();
      assertEquals(created, ps.all().size(), "no new parameter in the store");
      assertEquals(created, view.all().size());
      for (int i = 0; i < created; i++) {
        assertEquals(ps.all().get(i).variable(), view.all().get(i).variable(), "same variable");
      }
      s.initialize();
      Param cls = ps.get("net/cls_token");
      float[] before = GraphTesting.read(s, cls.read());
      Operand<TFloat32> img = tf.fill(tf.constant(new int[] {1, 8, 8, 1}), tf.constant(0.5f));
      float[] out = GraphTesting.read(s, rebound.forward(tf, Compute.fp32(), img, VisionTransformer.Inputs.none()).cls(tf));
      float[] after = GraphTesting.read(s, cls.read());
      for (int i = 0; i < before.length; i++) {
        assertEquals(2 * before[i], after[i], 1e-7, "running the rebound network ran the update first");
      }
      float[] expect = GraphTesting.read(s, plain.forward(tf, Compute.fp32(), img, VisionTransformer.Inputs.none())
          .cls(tf));
      assertArrayEquals(expect, out, 1e-6f, "and its forward pass saw the updated values");
    }
  }

  @Test
  void rebindingADifferentNetworkFails() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      Dense.create(ps, tf.withSubScope("a"), 3, 4, true, InitScheme.zeros(), 0);
      ParamStore view = ps.rebind("a/", (t, name, p) -> t.identity(p.variable()));
      assertThrows(IllegalArgumentException.class,
          () -> Dense.create(view, tf.withSubScope("b"), 4, 3, true, InitScheme.zeros(), 0), "shape mismatch");
      ParamStore partial = ps.rebind("a/", (t, name, p) -> t.identity(p.variable()));
      Dense.create(ps.rebind("a/", (t, name, p) -> t.identity(p.variable())), tf.withSubScope("c"), 3, 4, true,
          InitScheme.zeros(), 0);
      assertThrows(IllegalArgumentException.class, partial::checkRebound, "nothing was rebuilt through it");
    }
  }
}
