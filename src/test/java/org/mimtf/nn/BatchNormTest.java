package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.ModelConfig;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * BatchNorm in training mode and the MoCo v3 projection head: batch statistics by hand, the
 * synchronised version over "towers" equal to one BatchNorm over the union of their rows — values
 * and gradients — and the head's layout.
 */
class BatchNormTest {
  static float[] random(int n, long seed, double scale, double shift) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) (shift + scale * r.nextGaussian());
    }
    return a;
  }

  @Test
  void normalisesEachChannelWithTheBiasedBatchVarianceAndEps() {
    int m = 6;
    int c = 3;
    float[] x = random(m * c, 1, 2.0, 0.5);
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      BatchNorm bn = BatchNorm.create(ps, tf.withSubScope("bn"), c, 1e-5f, true, 0);
      BatchNorm plain = BatchNorm.create(ps, tf.withSubScope("plain"), c, 1e-5f, false, 0);
      assertNull(plain.gamma(), "affine = false has no parameters");
      assertEquals(List.of("bn/gamma", "bn/beta"), ps.all().stream().map(Param::name).toList());
      var in = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(m, c)));
      // γ = 2, β = −1 to see the affine part
      var setG = tf.assign(bn.gamma().variable(), tf.constant(new float[] {2f, 2f, 2f}));
      var setB = tf.assign(bn.beta().variable(), tf.constant(new float[] {-1f, -1f, -1f}));
      s.initialize();
      s.runner().addTarget(setG).addTarget(setB).run();
      List<float[]> out = GraphTesting.run(s, Map.of(in, x), Map.of(in, new long[] {m, c}),
          List.of(bn.apply(tf, in), plain.apply(tf, in)));
      for (int j = 0; j < c; j++) {
        double mean = 0;
        for (int i = 0; i < m; i++) {
          mean += x[i * c + j];
        }
        mean /= m;
        double var = 0;
        for (int i = 0; i < m; i++) {
          var += (x[i * c + j] - mean) * (x[i * c + j] - mean);
        }
        var /= m; // biased, as PyTorch normalises in training mode
        for (int i = 0; i < m; i++) {
          double y = (x[i * c + j] - mean) / Math.sqrt(var + 1e-5);
          assertEquals(y, out.get(1)[i * c + j], 1e-5, "plain row " + i + " channel " + j);
          assertEquals(2 * y - 1, out.get(0)[i * c + j], 2e-5, "affine row " + i + " channel " + j);
        }
      }
    }
  }

  /** One BatchNorm over all rows vs the synchronised version over two and three "towers". */
  @Test
  void acrossTowersEqualsOneBatchNormOverTheUnionValuesAndGradients() {
    int c = 4;
    int[] rows = {5, 3, 4};
    int total = 12;
    float[] x = random(total * c, 2, 1.5, -0.3);
    float[] w = random(total * c, 3, 1.0, 0.0);
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      BatchNorm bn = BatchNorm.create(ps, tf.withSubScope("bn"), c, 1e-5f, true, 0);
      var in = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(total, c)));
      Operand<TFloat32> weights = tf.constant(Shape.of(total, c), org.tensorflow.ndarray.buffer.DataBuffers.of(w));
      // reference: one batch; loss = Σ w ⊙ BN(x)
      Operand<TFloat32> ref = bn.apply(tf, in);
      Operand<TFloat32> refLoss = tf.sum(tf.math.mul(ref, weights), tf.constant(new int[] {0, 1}));
      // towers: split the rows, normalise across, concatenate back
      var parts = tf.splitV(in, tf.constant(rows), tf.constant(0), 3L).output();
      List<Operand<TFloat32>> xs = List.of(parts.get(0), parts.get(1), parts.get(2));
      List<Operand<TFloat32>> ys = bn.applyAcross(tf, List.of(tf, tf, tf), xs);
      Operand<TFloat32> joined = tf.concat(ys, tf.constant(0));
      Operand<TFloat32> towerLoss = tf.sum(tf.math.mul(joined, weights), tf.constant(new int[] {0, 1}));
      // and what per-tower statistics would give (must differ: the test has teeth)
      Operand<TFloat32> local = tf.concat(List.of(bn.apply(tf, parts.get(0)), bn.apply(tf, parts.get(1)),
          bn.apply(tf, parts.get(2))), tf.constant(0));
      @SuppressWarnings("unchecked")
      Operand<TFloat32> gRef = (Operand<TFloat32>) (Operand<?>) tf.gradients(refLoss, List.of(in)).dy(0);
      @SuppressWarnings("unchecked")
      Operand<TFloat32> gTow = (Operand<TFloat32>) (Operand<?>) tf.gradients(towerLoss, List.of(in)).dy(0);
      @SuppressWarnings("unchecked")
      Operand<TFloat32> gGamma = (Operand<TFloat32>) (Operand<?>) tf.gradients(refLoss, List.of(bn.gamma().read()))
          .dy(0);
      @SuppressWarnings("unchecked")
      Operand<TFloat32> gGammaTow = (Operand<TFloat32>) (Operand<?>) tf.gradients(towerLoss,
          List.of(bn.gamma().read())).dy(0);
      s.initialize();
      List<float[]> o = GraphTesting.run(s, Map.of(in, x), Map.of(in, new long[] {total, c}),
          List.of(ref, joined, local, gRef, gTow, gGamma, gGammaTow));
      double maxLocalDiff = 0;
      for (int i = 0; i < total * c; i++) {
        assertEquals(o.get(0)[i], o.get(1)[i], 1e-5, "value " + i);
        assertEquals(o.get(3)[i], o.get(4)[i], 1e-5, "d loss / d x " + i);
        maxLocalDiff = Math.max(maxLocalDiff, Math.abs(o.get(0)[i] - o.get(2)[i]));
      }
      for (int j = 0; j < c; j++) {
        assertEquals(o.get(5)[j], o.get(6)[j], 1e-5, "d loss / d gamma " + j);
      }
      assertTrue(maxLocalDiff > 0.1, "per-tower statistics differ from the global ones (" + maxLocalDiff + ")");
    }
  }

  @Test
  void projectionHeadIsLinearBnReluTwiceThenLinearBnWithoutAffineAndNoBiases() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      InitScheme init = new InitScheme(ModelConfig.Init.BEIT, 0);
      ProjectionHead.create(ps, tf.withSubScope("projector"), 8, 16, 4, 3, 1e-5f, init, 3);
      List<String> names = ps.all().stream().map(p -> p.name() + p.shape()).toList();
      assertEquals(List.of("projector/0/kernel[8, 16]", "projector/0/bn/gamma[16]", "projector/0/bn/beta[16]",
          "projector/1/kernel[16, 16]", "projector/1/bn/gamma[16]", "projector/1/bn/beta[16]",
          "projector/2/kernel[16, 4]"), names);
      assertTrue(ps.get("projector/0/kernel").decays());
      assertTrue(!ps.get("projector/0/bn/gamma").decays());
    }
  }

  @Test
  void projectionHeadOutputsAreStandardisedPerChannelOverTheBatch() {
    int m = 32;
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      ProjectionHead head = ProjectionHead.create(ps, tf.withSubScope("projector"), 8, 16, 4, 3, 1e-5f,
          new InitScheme(ModelConfig.Init.BEIT, 0), 3);
      var in = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(m, 8)));
      s.initialize();
      float[] y = GraphTesting.run(s, Map.of(in, random(m * 8, 5, 3.0, 1.0)), Map.of(in, new long[] {m, 8}),
          List.of(head.apply(tf, Compute.fp32(), in))).get(0);
      for (int j = 0; j < 4; j++) {
        double mean = 0;
        double sq = 0;
        for (int i = 0; i < m; i++) {
          mean += y[i * 4 + j];
          sq += y[i * 4 + j] * y[i * 4 + j];
        }
        mean /= m;
        assertEquals(0, mean, 1e-5, "channel " + j + " mean (last BN has no affine part)");
        assertEquals(1, sq / m - mean * mean, 0.03, "channel " + j + " variance (below 1 by eps / var)");
      }
    }
  }
}
