package org.mimtf.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.mimtf.nn.GraphTesting;
import org.mimtf.nn.InitScheme;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

class AdamWTest {
  /** Two steps of AdamW on a kernel (decayed) and a bias (not decayed) against a hand computation. */
  @Test
  void twoStepsMatchTorchAdamWIncludingTheNoDecayGroup() {
    float lr = 0.1f;
    float wd = 0.5f;
    float b1 = 0.9f;
    float b2 = 0.98f;
    float eps = 1e-8f;
    float[] w0 = {1f, -2f};
    float[] bias0 = {0.5f, 3f};
    float[] g = {0.3f, -4f};
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      ParamStore ps = new ParamStore(new Initializers(0));
      Param w = ps.create(tf, "w", Shape.of(2), Param.Kind.KERNEL, 0, true,
          (t, n, s) -> t.constant(w0));
      Param b = ps.create(tf, "b", Shape.of(2), Param.Kind.BIAS, 0, true, (t, n, s) -> t.constant(bias0));
      Variable<TInt64> step = tf.withName("step").variable(tf.constant(0L));
      Operand<TInt64> stepRead = tf.identity(step);
      // gradients are constants here: the update, not autodiff, is under test
      AdamW.Built built = AdamW.build(tf, new AdamW.Hyper(b1, b2, eps), List.of(
          new AdamW.Target(w, tf.constant(g), 1f, w.decays()),
          new AdamW.Target(b, tf.constant(g), 1f, b.decays())), stepRead, tf.constant(lr), tf.constant(wd));
      var inc = tf.withControlDependencies(List.of(built.update())).assignAdd(step, tf.constant(1L));
      try (Session s = new Session(graph)) {
        s.initialize();
        double[] wRef = {w0[0], w0[1]};
        double[] bRef = {bias0[0], bias0[1]};
        double[] m = new double[2];
        double[] v = new double[2];
        for (int t = 1; t <= 2; t++) {
          s.runner().addTarget(inc).run();
          for (int i = 0; i < 2; i++) {
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mh = m[i] / (1 - Math.pow(b1, t));
            double vh = v[i] / (1 - Math.pow(b2, t));
            double adam = lr * mh / (Math.sqrt(vh) + eps);
            wRef[i] = wRef[i] * (1 - lr * wd) - adam; // decoupled decay (torch.optim.AdamW)
            bRef[i] = bRef[i] - adam; // biases are not decayed
          }
          assertArrayEquals(toFloat(wRef), GraphTesting.read(s, w.read()), 1e-5f, "kernel after step " + t);
          assertArrayEquals(toFloat(bRef), GraphTesting.read(s, b.read()), 1e-5f, "bias after step " + t);
        }
      }
    }
  }

  /** A target with its own learning rate and weight decay ignores the run's (scheduled) ones. */
  @Test
  void aTargetsOwnLearningRateAndWeightDecayReplaceTheScheduledOnes() {
    float[] w0 = {1f, -2f};
    float[] g = {0.3f, -4f};
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      ParamStore ps = new ParamStore(new Initializers(0));
      Param fixed = ps.create(tf.withSubScope("gen"), "w", Shape.of(2), Param.Kind.KERNEL, 0, true, (t, n, s) -> t.constant(w0));
      Param sched = ps.create(tf.withSubScope("enc"), "w", Shape.of(2), Param.Kind.KERNEL, 0, true, (t, n, s) -> t.constant(w0));
      ps.fixHyper("gen/", 0.1f, 0.5f);
      org.junit.jupiter.api.Assertions.assertEquals(new ParamStore.FixedHyper(0.1f, 0.5f), ps.fixedHyper(fixed));
      org.junit.jupiter.api.Assertions.assertNull(ps.fixedHyper(sched));
      Variable<TInt64> step = tf.withName("step").variable(tf.constant(0L));
      var h = ps.fixedHyper(fixed);
      AdamW.Built built = AdamW.build(tf, new AdamW.Hyper(0.9f, 0.999f, 1e-8f), List.of(
          new AdamW.Target(fixed, tf.constant(g), 1f, true, tf.constant(h.learningRate()), tf.constant(h.weightDecay())),
          new AdamW.Target(sched, tf.constant(g), 1f, true)), tf.identity(step), tf.constant(0f), tf.constant(0.05f));
      try (Session s = new Session(graph)) {
        s.initialize();
        s.runner().addTarget(built.update()).run();
        // First Adam step: m̂/√v̂ = sign(g); θ ← θ(1 − lr·wd) − lr·sign(g) with lr 0.1, wd 0.5.
        float[] expect = new float[2];
        for (int i = 0; i < 2; i++) {
          expect[i] = (float) (w0[i] * (1 - 0.1 * 0.5) - 0.1 * Math.signum(g[i]));
        }
        assertArrayEquals(expect, GraphTesting.read(s, fixed.read()), 1e-5f);
        assertArrayEquals(w0, GraphTesting.read(s, sched.read()), 0f, "the run's lr is 0 this step");
      }
    }
  }

  private static float[] toFloat(double[] a) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = (float) a[i];
    }
    return f;
  }

  @Test
  void noDecayGroupsFollowBeit() {
    org.junit.jupiter.api.Assertions.assertTrue(new Param("k", null, null, Shape.of(2, 2), Param.Kind.KERNEL, 0, true)
        .decays());
    org.junit.jupiter.api.Assertions.assertTrue(new Param("m", null, null, Shape.of(1, 1, 2), Param.Kind.MASK_TOKEN, 0,
        true).decays(), "BEiT decays the mask token");
    org.junit.jupiter.api.Assertions.assertFalse(new Param("c", null, null, Shape.of(1, 1, 2),
        Param.Kind.NO_DECAY_TOKEN, 0, true).decays(), "cls_token and pos_embed are in no_weight_decay()");
    org.junit.jupiter.api.Assertions.assertFalse(new Param("g", null, null, Shape.of(2), Param.Kind.GAMMA, 0, true)
        .decays());
    org.junit.jupiter.api.Assertions.assertFalse(new Param("n", null, null, Shape.of(2), Param.Kind.NORM, 0, true)
        .decays());
    InitScheme.zeros();
  }
}
