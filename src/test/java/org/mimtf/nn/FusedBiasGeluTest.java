package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * mimtf's fused bias + GELU against the composite ops (BiasAdd, then {@link Mlp#gelu}): the value and
 * both gradients agree to erf/exp rounding, and the fused gradient matches central differences of
 * the fused forward.
 */
class FusedBiasGeluTest {
  private static final int N = 6;
  private static final int H = 37; // not a multiple of 8 or 16: the vector loops' scalar tails run too

  /** y, dL/dx, dL/db and L = Σ w ⊙ GELU(x + b), fused or composite. */
  @SuppressWarnings("unchecked")
  private static List<float[]> forwardAndGrads(boolean fused, float[] x, float[] b, float[] w) {
    return forwardAndGrads(fused, x, b, w, N, H);
  }

  @SuppressWarnings("unchecked")
  private static List<float[]> forwardAndGrads(boolean fused, float[] x, float[] b, float[] w, int n, int h) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> xr = tf.identity(tf.variable(tf.reshape(tf.constant(x), tf.constant(new int[] {n, h}))));
      Operand<TFloat32> br = tf.identity(tf.variable(tf.constant(b)));
      Operand<TFloat32> y = fused ? FusedBiasGelu.apply(tf, xr, br) : Mlp.gelu(tf, tf.nn.biasAdd(xr, br));
      assertEquals(fused, GraphTesting.hasOp(g, FusedBiasGelu.OP));
      Operand<TFloat32> loss = tf.reduceSum(tf.math.mul(y, tf.reshape(tf.constant(w), tf.constant(new int[] {n, h}))),
          tf.constant(new int[] {0, 1}));
      var grads = tf.gradients(loss, List.of(xr, br));
      List<float[]> out = new ArrayList<>();
      try (Session s = new Session(g)) {
        s.initialize();
        out.add(GraphTesting.read(s, y));
        out.add(GraphTesting.read(s, (Operand<TFloat32>) (Operand<?>) grads.dy(0)));
        out.add(GraphTesting.read(s, (Operand<TFloat32>) (Operand<?>) grads.dy(1)));
        out.add(GraphTesting.read(s, loss));
      }
      return out;
    }
  }

  @Test
  void matchesTheCompositeOpsInValueAndGradient() {
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    float[] x = GraphTesting.randn(N * H, 1, 2.5f, 0f); // z from about −8 to 8: both tails of Φ and the kink near 0
    float[] b = GraphTesting.randn(H, 2, 0.5f, 0f);
    float[] w = GraphTesting.randn(N * H, 3, 1f, 0f);
    List<float[]> fused = forwardAndGrads(true, x, b, w);
    List<float[]> ops = forwardAndGrads(false, x, b, w);
    String[] what = {"y", "dx", "db"};
    for (int k = 0; k < 3; k++) {
      assertEquals(ops.get(k).length, fused.get(k).length, what[k]);
      for (int i = 0; i < ops.get(k).length; i++) {
        assertEquals(ops.get(k)[i], fused.get(k)[i], 1e-5 * Math.max(1, Math.abs(ops.get(k)[i])), what[k] + "[" + i + "]");
      }
    }
    float h = 1e-2f;
    for (int i = 0; i < N * H; i += 7) {
      float[] plus = x.clone();
      float[] minus = x.clone();
      plus[i] += h;
      minus[i] -= h;
      double numeric = (forwardAndGrads(true, plus, b, w).get(3)[0] - forwardAndGrads(true, minus, b, w).get(3)[0])
          / (2.0 * h);
      assertEquals(numeric, fused.get(1)[i], 2e-2 * Math.max(1, Math.abs(numeric)), "dx[" + i + "] vs finite differences");
    }
    for (int j = 0; j < H; j += 5) {
      float[] plus = b.clone();
      float[] minus = b.clone();
      plus[j] += h;
      minus[j] -= h;
      double numeric = (forwardAndGrads(true, x, plus, w).get(3)[0] - forwardAndGrads(true, x, minus, w).get(3)[0])
          / (2.0 * h);
      assertEquals(numeric, fused.get(2)[j], 2e-2 * Math.max(1, Math.abs(numeric)), "db[" + j + "] vs finite differences");
    }
  }

  @Test
  void rowsSplitOverThreadsGiveTheSameValuesAndColumnSums() {
    // 512 × 384 elements: the kernels split the rows over their threads (one part per 32k elements,
    // up to the CPU count), and db adds up the parts' column sums
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    int n = 512;
    int h = 384;
    float[] x = GraphTesting.randn(n * h, 5, 2f, 0f);
    float[] b = GraphTesting.randn(h, 6, 0.5f, 0f);
    float[] w = GraphTesting.randn(n * h, 7, 1f, 0f);
    List<float[]> fused = forwardAndGrads(true, x, b, w, n, h);
    List<float[]> ops = forwardAndGrads(false, x, b, w, n, h);
    for (int k = 0; k < 3; k++) {
      double worst = 0;
      for (int i = 0; i < ops.get(k).length; i++) {
        worst = Math.max(worst, Math.abs(ops.get(k)[i] - fused.get(k)[i]) / Math.max(1, Math.abs(ops.get(k)[i])));
      }
      assertTrue(worst < 2e-5, "output " + k + ": worst relative difference " + worst);
    }
    List<float[]> again = forwardAndGrads(true, x, b, w, n, h);
    for (int k = 0; k < 3; k++) {
      org.junit.jupiter.api.Assertions.assertArrayEquals(fused.get(k), again.get(k), 0f, "deterministic, output " + k);
    }
  }

  @Test
  void geluOfKnownPointsAndNanPropagates() {
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      // GELU(0) = 0, GELU(1) = Φ(1) = 0.8413447, GELU(−1) = −0.1586553, GELU(3) = 3·0.9986501
      var y = FusedBiasGelu.apply(tf, tf.constant(new float[][] {{-1f, 0f, 1f, 2f, Float.NaN}}),
          tf.constant(new float[] {0f, 0f, 0f, 1f, 0f}));
      float[] out = GraphTesting.read(s, y);
      assertEquals(-0.1586553f, out[0], 1e-6f);
      assertEquals(0f, out[1], 0f);
      assertEquals(0.8413447f, out[2], 1e-6f);
      assertEquals(3 * 0.9986501f, out[3], 1e-5f);
      assertTrue(Float.isNaN(out[4]), "a NaN stays NaN (the trainer stops on a NaN loss): " + out[4]);
    }
  }

  @Test
  void refusesABiasOfAnotherWidth() {
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      var xp = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 4)));
      var y = FusedBiasGelu.apply(tf, xp, tf.constant(new float[3]));
      try (var x = TFloat32.tensorOf(Shape.of(2, 4))) {
        var e = assertThrows(org.tensorflow.exceptions.TFInvalidArgumentException.class,
            () -> s.runner().feed(xp, x).fetch(y).run().close());
        assertTrue(e.getMessage().contains("x must be [rows, width] and bias [width]"), e.getMessage());
      }
    }
  }

  @Test
  void theMlpUsesItOnlyWhenAskedAndOnCpuTowers() {
    var t = org.mimtf.config.proto.TrainingConfig.newBuilder().setFusedBiasGelu(true).build();
    assertFalse(org.mimtf.train.Devices.compute(t, List.of("/device:GPU:0")).fusedBiasGelu(), "no GPU kernel");
    assertFalse(Compute.fp32().fusedBiasGelu(), "the default Compute (exports) is composite");
    assertEquals(NativeOps.available(), org.mimtf.train.Devices.compute(t, List.of("/cpu:0")).fusedBiasGelu());
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    for (boolean fused : new boolean[] {false, true}) {
      try (Graph g = new Graph()) {
        Ops tf = Ops.create(g);
        Mlp mlp = Mlp.create(new ParamStore(new Initializers(0)), tf, 8, 32,
            new InitScheme(org.mimtf.config.proto.ModelConfig.Init.TIMM, 0), 1f, 0);
        mlp.apply(tf, Compute.fp32().withFusedBiasGelu(fused), tf.constant(new float[5][8]));
        assertEquals(fused, GraphTesting.hasOp(g, FusedBiasGelu.OP));
        assertEquals(!fused, GraphTesting.hasOp(g, "Erf"));
      }
    }
  }
}
