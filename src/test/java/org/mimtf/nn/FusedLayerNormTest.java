package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The fused LayerNorms (mimtf's native kernel pair and oneDNN's kernel with a closed-form gradient)
 * against the composite ops: values and all three gradients agree to fp32 reassociation, and each
 * fused gradient also matches central differences of its own forward.
 */
class FusedLayerNormTest {
  private static final int N = 5;
  private static final int D = 8;
  private static final float LN_EPS = 1e-6f;

  /** y, dy/dx, dy/dγ, dy/dβ of loss = Σ w ⊙ LN(x) for a fused kernel, or the composite (null). */
  @SuppressWarnings("unchecked")
  private static List<float[]> forwardAndGrads(FusedLayerNorm.Kernel kernel, float[] x, float[] gamma, float[] beta,
      float[] w) {
    return forwardAndGrads(kernel, x, gamma, beta, w, N, D);
  }

  @SuppressWarnings("unchecked")
  private static List<float[]> forwardAndGrads(FusedLayerNorm.Kernel kernel, float[] x, float[] gamma, float[] beta,
      float[] w, int n, int d) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      // variables' reads stand in for the parameters, as in the model
      var xv = tf.variable(tf.reshape(tf.constant(x), tf.constant(new int[] {n, d})));
      var gv = tf.variable(tf.constant(gamma));
      var bv = tf.variable(tf.constant(beta));
      Operand<TFloat32> xr = tf.identity(xv);
      Operand<TFloat32> gr = tf.identity(gv);
      Operand<TFloat32> br = tf.identity(bv);
      Operand<TFloat32> y = kernel == null ? Compute.fp32().layerNorm(tf, xr, gr, br, LN_EPS)
          : FusedLayerNorm.apply(tf, xr, gr, br, LN_EPS, kernel);
      assertEquals(kernel == FusedLayerNorm.Kernel.ONEDNN, GraphTesting.hasOp(g, FusedLayerNorm.OP), "oneDNN kernel in the graph");
      assertEquals(kernel == FusedLayerNorm.Kernel.NATIVE, GraphTesting.hasOp(g, FusedLayerNorm.NATIVE_OP), "native kernel");
      Operand<TFloat32> loss = tf.reduceSum(tf.math.mul(y, tf.reshape(tf.constant(w), tf.constant(new int[] {n, d}))),
          tf.constant(new int[] {0, 1}));
      var grads = tf.gradients(loss, List.of(xr, gr, br));
      List<float[]> out = new ArrayList<>();
      try (Session s = new Session(g)) {
        s.initialize();
        out.add(GraphTesting.read(s, y));
        for (int i = 0; i < 3; i++) {
          out.add(GraphTesting.read(s, (Operand<TFloat32>) (Operand<?>) grads.dy(i)));
        }
        out.add(GraphTesting.read(s, loss));
      }
      return out;
    }
  }

  private static void matchesTheCompositeOps(FusedLayerNorm.Kernel kernel) {
    float[] x = GraphTesting.randn(N * D, 1, 2f, 0.7f);
    float[] gamma = GraphTesting.randn(D, 2, 0.5f, 1f);
    float[] beta = GraphTesting.randn(D, 3, 0.3f, 0f);
    float[] w = GraphTesting.randn(N * D, 4, 1f, 0f);
    List<float[]> fused = forwardAndGrads(kernel, x, gamma, beta, w);
    List<float[]> ops = forwardAndGrads(null, x, gamma, beta, w);
    String[] what = {"y", "dx", "dgamma", "dbeta"};
    for (int k = 0; k < 4; k++) {
      assertEquals(ops.get(k).length, fused.get(k).length, what[k]);
      for (int i = 0; i < ops.get(k).length; i++) {
        assertEquals(ops.get(k)[i], fused.get(k)[i], 2e-5 * Math.max(1, Math.abs(ops.get(k)[i])), what[k] + "[" + i + "]");
      }
    }
    // and dx, dγ against central differences of the fused forward itself
    float h = 2e-3f;
    for (int i = 0; i < N * D; i += 3) {
      float[] plus = x.clone();
      float[] minus = x.clone();
      plus[i] += h;
      minus[i] -= h;
      double lp = forwardAndGrads(kernel, plus, gamma, beta, w).get(4)[0];
      double lm = forwardAndGrads(kernel, minus, gamma, beta, w).get(4)[0];
      double numeric = (lp - lm) / (2.0 * h);
      assertEquals(numeric, fused.get(1)[i], 1e-2 * Math.max(1, Math.abs(numeric)), "dx[" + i + "] vs finite differences");
    }
    for (int j = 0; j < D; j++) {
      float[] plus = gamma.clone();
      float[] minus = gamma.clone();
      plus[j] += h;
      minus[j] -= h;
      double numeric = (forwardAndGrads(kernel, x, plus, beta, w).get(4)[0]
          - forwardAndGrads(kernel, x, minus, beta, w).get(4)[0]) / (2.0 * h);
      assertEquals(numeric, fused.get(2)[j], 1e-2 * Math.max(1, Math.abs(numeric)), "dγ[" + j + "] vs finite differences");
    }
  }

  @Test
  void oneDnnKernelMatchesTheCompositeOpsInValueAndGradient() {
    assumeTrue(FusedLayerNorm.oneDnnAvailable(), "this TensorFlow build has no oneDNN LayerNorm kernel");
    matchesTheCompositeOps(FusedLayerNorm.Kernel.ONEDNN);
  }

  @Test
  void nativeKernelMatchesTheCompositeOpsInValueAndGradient() {
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    matchesTheCompositeOps(FusedLayerNorm.Kernel.NATIVE);
  }

  @Test
  void nativeKernelSplitOverThreadsGivesTheSameValuesAndColumnSums() {
    // 2,048 × 128 elements: the rows are split over the kernels' threads, dγ and dβ add up the parts
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    int n = 2048;
    int d = 128;
    float[] x = GraphTesting.randn(n * d, 11, 2f, 0.7f);
    float[] gamma = GraphTesting.randn(d, 12, 0.5f, 1f);
    float[] beta = GraphTesting.randn(d, 13, 0.3f, 0f);
    float[] w = GraphTesting.randn(n * d, 14, 1f, 0f);
    List<float[]> fused = forwardAndGrads(FusedLayerNorm.Kernel.NATIVE, x, gamma, beta, w, n, d);
    List<float[]> ops = forwardAndGrads(null, x, gamma, beta, w, n, d);
    for (int k = 0; k < 4; k++) {
      double worst = 0;
      for (int i = 0; i < ops.get(k).length; i++) {
        worst = Math.max(worst, Math.abs(ops.get(k)[i] - fused.get(k)[i]) / Math.max(1, Math.abs(ops.get(k)[i])));
      }
      // dγ, dβ sum 2,048 rows: fp32 summation order differs between the two
      assertTrue(worst < (k >= 2 ? 1e-4 : 2e-5), "output " + k + ": worst relative difference " + worst);
    }
  }

  @Test
  void nativeKernelRefusesInputsThatAreNotRowsWithTheirWidth() {
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      // γ's width (3) is not x's (4): the kernel's own check, not a crash
      var xp = tf.placeholder(TFloat32.class,
          org.tensorflow.op.core.Placeholder.shape(org.tensorflow.ndarray.Shape.of(-1, 4)));
      var y = FusedLayerNorm.apply(tf, xp, tf.constant(new float[3]), tf.constant(new float[3]), LN_EPS,
          FusedLayerNorm.Kernel.NATIVE);
      try (var x = TFloat32.tensorOf(org.tensorflow.ndarray.Shape.of(2, 4))) {
        var e = org.junit.jupiter.api.Assertions.assertThrows(org.tensorflow.exceptions.TFInvalidArgumentException.class,
            () -> s.runner().feed(xp, x).fetch(y).run().close());
        assertTrue(e.getMessage().contains("x must be [rows, width] and gamma, beta [width]"), e.getMessage());
      }
    }
  }

  @Test
  void nativeGradientKernelRefusesStatisticsOfAnotherLength() {
    // the kernels index by these sizes: a graph that feeds the gradient op inconsistent tensors gets
    // an error naming the input, not an out-of-bounds read
    assumeTrue(NativeOps.available(), "mimtf's native kernels: " + NativeOps.unavailableReason());
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      var grad = tf.scope().opBuilder(FusedLayerNorm.NATIVE_GRAD_OP, "bad")
          .addInput(tf.constant(new float[3][4]).asOutput()).addInput(tf.constant(new float[3][4]).asOutput())
          .addInput(tf.constant(new float[4]).asOutput()).addInput(tf.constant(new float[2]).asOutput())
          .addInput(tf.constant(new float[3]).asOutput()).build();
      var e = org.junit.jupiter.api.Assertions.assertThrows(org.tensorflow.exceptions.TFInvalidArgumentException.class,
          () -> s.runner().fetch(grad.output(0)).run().close());
      assertTrue(e.getMessage().contains("mean must be [rows of x]"), e.getMessage());
    }
  }

  @Test
  void onlyTwoDimensionalRowsAreFused() {
    assumeTrue(FusedLayerNorm.available(), "this TensorFlow build has no oneDNN LayerNorm kernel");
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Compute c = Compute.fp32().withFusedLayerNorm(true);
      c.layerNorm(tf, tf.constant(new float[2][3][4]), tf.constant(new float[4]), tf.constant(new float[4]), LN_EPS);
      String op = FusedLayerNorm.kernel() == FusedLayerNorm.Kernel.NATIVE ? FusedLayerNorm.NATIVE_OP : FusedLayerNorm.OP;
      assertFalse(GraphTesting.hasOp(g, op), "a [B, T, D] input keeps the composite ops");
      c.layerNorm(tf, tf.constant(new float[6][4]), tf.constant(new float[4]), tf.constant(new float[4]), LN_EPS);
      assertTrue(GraphTesting.hasOp(g, op));
    }
  }

  @Test
  void exportsAndGpuTowersKeepTheCompositeOps() {
    var t = org.mimtf.config.proto.TrainingConfig.newBuilder().setFusedLayerNorm(true).build();
    assertFalse(org.mimtf.train.Devices.compute(t, List.of("/device:GPU:0")).fusedLayerNorm(), "no GPU kernel");
    assertFalse(Compute.fp32().fusedLayerNorm(), "the default Compute (exports) is composite");
    assertEquals(FusedLayerNorm.available(), org.mimtf.train.Devices.compute(t, List.of("/cpu:0")).fusedLayerNorm());
  }
}
