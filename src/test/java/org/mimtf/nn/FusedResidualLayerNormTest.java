package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
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
 * mimtf's fused residual step + LayerNorm ({@code out = x + s ⊙ (h + b)}, {@code y = LN(out)·γ + β})
 * against the composite ops: both outputs and all six gradients, with a loss that reads both outputs
 * (as in a block, where out feeds the next residual and y the next branch), central differences of
 * the fused op, thread splits, and the whole encoder with the fusion on and off.
 */
class FusedResidualLayerNormTest {
  private static final int N = 6;
  private static final int D = 37; // not a multiple of 8 or 16: the vector loops' scalar tails run too
  private static final float EPS = 1e-6f;

  /**
   * out, y, dL/d{x, h, b, s, γ, β} and L = Σ w₁ ⊙ out + Σ w₂ ⊙ y, fused or composite; {@code in} holds
   * x, h, b, s, γ, β, w₁, w₂ (s null: no layer scale).
   */
  @SuppressWarnings("unchecked")
  private static List<float[]> forwardAndGrads(boolean fused, float[][] in, int n, int d) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> x = rows(tf, in[0], n, d);
      Operand<TFloat32> h = rows(tf, in[1], n, d);
      Operand<TFloat32> b = tf.identity(tf.variable(tf.constant(in[2])));
      Operand<TFloat32> s = in[3] == null ? null : tf.identity(tf.variable(tf.constant(in[3])));
      Operand<TFloat32> gamma = tf.identity(tf.variable(tf.constant(in[4])));
      Operand<TFloat32> beta = tf.identity(tf.variable(tf.constant(in[5])));
      Operand<TFloat32> out;
      Operand<TFloat32> y;
      if (fused) {
        FusedResidualLayerNorm.Output o = FusedResidualLayerNorm.apply(tf, x, h, b, s, gamma, beta, EPS);
        out = o.out();
        y = o.normed();
      } else {
        Operand<TFloat32> branch = tf.nn.biasAdd(h, b);
        out = tf.math.add(x, s == null ? branch : tf.math.mul(branch, s));
        y = tf.math.add(tf.math.mul(LayerNorm.normalize(tf, out, EPS), gamma), beta);
      }
      assertEquals(fused, GraphTesting.hasOp(g, FusedResidualLayerNorm.OP));
      Operand<TFloat32> loss = tf.math.add(weighted(tf, out, in[6], n, d), weighted(tf, y, in[7], n, d));
      List<Operand<?>> wrt = new ArrayList<>(List.of(x, h, b, gamma, beta));
      if (s != null) {
        wrt.add(3, s);
      }
      var grads = tf.gradients(loss, wrt);
      List<float[]> res = new ArrayList<>();
      try (Session sess = new Session(g)) {
        sess.initialize();
        res.add(GraphTesting.read(sess, out));
        res.add(GraphTesting.read(sess, y));
        for (int k = 0; k < wrt.size(); k++) {
          res.add(GraphTesting.read(sess, (Operand<TFloat32>) (Operand<?>) grads.dy(k)));
        }
        res.add(GraphTesting.read(sess, loss));
      }
      return res;
    }
  }

  private static Operand<TFloat32> rows(Ops tf, float[] v, int n, int d) {
    return tf.identity(tf.variable(tf.reshape(tf.constant(v), tf.constant(new int[] {n, d}))));
  }

  private static Operand<TFloat32> weighted(Ops tf, Operand<TFloat32> t, float[] w, int n, int d) {
    return tf.reduceSum(tf.math.mul(t, tf.reshape(tf.constant(w), tf.constant(new int[] {n, d}))),
        tf.constant(new int[] {0, 1}));
  }

  private static float[][] inputs(int n, int d, long seed, boolean layerScale) {
    return new float[][] {
        GraphTesting.randn(n * d, seed, 1.5f, 0.3f), // x, the residual stream (non-zero mean)
        GraphTesting.randn(n * d, seed + 1, 1f, 0f), // h
        GraphTesting.randn(d, seed + 2, 0.5f, 0f), // b
        layerScale ? GraphTesting.randn(d, seed + 3, 0.3f, 0.5f) : null, // s
        GraphTesting.randn(d, seed + 4, 0.2f, 1f), // γ
        GraphTesting.randn(d, seed + 5, 0.2f, 0f), // β
        GraphTesting.randn(n * d, seed + 6, 1f, 0f), // w₁
        GraphTesting.randn(n * d, seed + 7, 1f, 0f)}; // w₂
  }

  private static void assertClose(List<float[]> expected, List<float[]> actual, double tol, String[] what) {
    assertEquals(expected.size(), actual.size());
    for (int k = 0; k < expected.size() - 1; k++) {
      assertEquals(expected.get(k).length, actual.get(k).length, what[k]);
      double worst = 0;
      for (int i = 0; i < expected.get(k).length; i++) {
        worst = Math.max(worst, Math.abs(expected.get(k)[i] - actual.get(k)[i]) / Math.max(1, Math.abs(expected.get(k)[i])));
      }
      assertTrue(worst < tol, what[k] + ": worst relative difference " + worst);
    }
  }

  @Test
  void matchesTheCompositeOpsInValuesAndAllSixGradients() {
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    float[][] in = inputs(N, D, 11, true);
    List<float[]> fused = forwardAndGrads(true, in, N, D);
    assertClose(forwardAndGrads(false, in, N, D), fused, 2e-5,
        new String[] {"out", "y", "dx", "dh", "db", "ds", "dgamma", "dbeta"});
    // central differences of the fused forward, for every input (x, h, b, s, γ, β): one graph, fed
    try (Graph g = new Graph(); Session sess = new Session(g)) {
      Ops tf = Ops.create(g);
      long[][] shapes = {{N, D}, {N, D}, {D}, {D}, {D}, {D}};
      List<Placeholder<TFloat32>> ph = new ArrayList<>();
      java.util.Map<Placeholder<TFloat32>, long[]> shapeOf = new java.util.HashMap<>();
      for (long[] shape : shapes) {
        Placeholder<TFloat32> p = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(shape)));
        ph.add(p);
        shapeOf.put(p, shape);
      }
      FusedResidualLayerNorm.Output o = FusedResidualLayerNorm.apply(tf, ph.get(0), ph.get(1), ph.get(2), ph.get(3),
          ph.get(4), ph.get(5), EPS);
      Operand<TFloat32> loss = tf.math.add(weighted(tf, o.out(), in[6], N, D), weighted(tf, o.normed(), in[7], N, D));
      float step = 1e-2f;
      for (int k = 0; k < 6; k++) {
        for (int i = k; i < in[k].length; i += 11) {
          double[] at = new double[2];
          for (int side = 0; side < 2; side++) {
            java.util.Map<Placeholder<TFloat32>, float[]> feeds = new java.util.HashMap<>();
            for (int q = 0; q < 6; q++) {
              float[] v = in[q].clone();
              if (q == k) {
                v[i] += side == 0 ? step : -step;
              }
              feeds.put(ph.get(q), v);
            }
            at[side] = GraphTesting.run(sess, feeds, shapeOf, List.of(loss)).get(0)[0];
          }
          double numeric = (at[0] - at[1]) / (2.0 * step);
          float analytic = fused.get(2 + k)[i];
          assertEquals(numeric, analytic, 2e-2 * Math.max(1, Math.abs(numeric)),
              "input " + k + "[" + i + "] vs finite differences");
        }
      }
    }
  }

  @Test
  void withoutLayerScaleItIsThePlainResidual() {
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    float[][] in = inputs(N, D, 21, false);
    assertClose(forwardAndGrads(false, in, N, D), forwardAndGrads(true, in, N, D), 2e-5,
        new String[] {"out", "y", "dx", "dh", "db", "dgamma", "dbeta"});
  }

  @Test
  void rowsSplitOverThreadsGiveTheSameValuesAndColumnSums() {
    // 512 × 384: one part per 32k elements up to the CPU count; the four column sums add the parts'
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    float[][] in = inputs(512, 384, 31, true);
    List<float[]> fused = forwardAndGrads(true, in, 512, 384);
    assertClose(forwardAndGrads(false, in, 512, 384), fused, 5e-5,
        new String[] {"out", "y", "dx", "dh", "db", "ds", "dgamma", "dbeta"});
    List<float[]> again = forwardAndGrads(true, in, 512, 384);
    for (int k = 0; k < fused.size(); k++) {
      assertArrayEquals(fused.get(k), again.get(k), 0f, "deterministic, output " + k);
    }
  }

  @Test
  void refusesABranchOfAnotherShape() {
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      var hp = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 4)));
      var o = FusedResidualLayerNorm.apply(tf, tf.constant(new float[2][4]), hp, tf.constant(new float[4]), null,
          tf.constant(new float[4]), tf.constant(new float[4]), EPS);
      try (var h = TFloat32.tensorOf(Shape.of(3, 4))) {
        var e = assertThrows(org.tensorflow.exceptions.TFInvalidArgumentException.class,
            () -> s.runner().feed(hp, h).fetch(o.normed()).run().close());
        assertTrue(e.getMessage().contains("h must have x's shape"), e.getMessage());
      }
    }
  }

  /** The encoder's CLS output and every parameter's gradient, with the fused LayerNorm on or off. */
  @SuppressWarnings("unchecked")
  private static List<float[]> encoder(boolean fusedLayerNorm, float layerScale) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(3));
      VitConfig cfg = new VitConfig(16, 3, 2, 32, 8, 4, 1, ModelConfig.AbsPosEmbedding.LEARNED,
          ModelConfig.RelPosBias.SHARED, ModelConfig.QkvBias.QV_BIAS, layerScale, 0f, 1e-6f, ModelConfig.Init.BEIT,
          new float[] {0f}, new float[] {1f}, 0);
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), cfg, false);
      Compute c = Compute.fp32().withFusedLayerNorm(fusedLayerNorm);
      assertEquals(fusedLayerNorm, c.fusedResidual());
      Operand<TFloat32> images = tf.reshape(tf.constant(GraphTesting.randn(2 * 8 * 8, 41, 1f, 0f)),
          tf.constant(new int[] {2, 8, 8, 1}));
      var out = vit.forward(tf, c, images, VisionTransformer.Inputs.none());
      assertEquals(fusedLayerNorm, GraphTesting.hasOp(g, FusedResidualLayerNorm.OP));
      Operand<TFloat32> loss = tf.reduceSum(tf.math.square(out.normed()), tf.constant(new int[] {0, 1, 2}));
      List<Operand<?>> vars = new ArrayList<>();
      for (Param p : ps.trainable()) {
        vars.add(p.read());
      }
      var grads = tf.gradients(loss, vars);
      List<Operand<TFloat32>> fetch = new ArrayList<>();
      fetch.add(out.normed());
      for (int k = 0; k < vars.size(); k++) {
        fetch.add((Operand<TFloat32>) (Operand<?>) grads.dy(k));
      }
      fetch.add(loss);
      try (Session s = new Session(g)) {
        s.initialize();
        return GraphTesting.run(s, java.util.Map.of(), java.util.Map.of(), fetch); // one run for all
      }
    }
  }

  @Test
  void theEncoderWithItGivesTheSameOutputAndGradients() {
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    for (float layerScale : new float[] {0.1f, 0f}) {
      List<float[]> plain = encoder(false, layerScale);
      List<float[]> fused = encoder(true, layerScale);
      String[] what = new String[plain.size()];
      for (int k = 0; k < what.length; k++) {
        what[k] = (k == 0 ? "output" : "gradient " + k) + " (layer scale " + layerScale + ")";
      }
      assertClose(plain, fused, 1e-4, what);
    }
  }

  @Test
  void notUsedWithDropPathOrInExports() {
    assertFalse(Compute.fp32().fusedResidual(), "the default Compute (exports) is composite");
    var t = org.mimtf.config.proto.TrainingConfig.newBuilder().setFusedLayerNorm(true).build();
    assertFalse(org.mimtf.train.Devices.compute(t, List.of("/device:GPU:0")).fusedResidual(), "no GPU kernel");
  }
}
