package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.op.train.BatchMatMul;
import org.tensorflow.types.TFloat32;

/**
 * oneDNN's batched product with the gradient registered for it, against TF's BatchMatMulV3 and its
 * built-in gradient, for the four adjoint combinations, and against a product worked by hand.
 */
class OneDnnBatchMatMulTest {
  /** c, dL/da, dL/db for L = Σ w ⊙ (a @ b) with a [2, 3, m, k] and b [2, 3, k, n] (before adjoints). */
  @SuppressWarnings("unchecked")
  private static List<float[]> productAndGrads(boolean oneDnn, boolean adjA, boolean adjB) {
    int m = 5;
    int k = 7;
    int n = 4;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      int[] aShape = adjA ? new int[] {2, 3, k, m} : new int[] {2, 3, m, k};
      int[] bShape = adjB ? new int[] {2, 3, n, k} : new int[] {2, 3, k, n};
      Operand<TFloat32> a = tf.identity(tf.variable(tf.reshape(tf.constant(GraphTesting.randn(6 * m * k, 1, 1f, 0f)),
          tf.constant(aShape))));
      Operand<TFloat32> b = tf.identity(tf.variable(tf.reshape(tf.constant(GraphTesting.randn(6 * k * n, 2, 1f, 0f)),
          tf.constant(bShape))));
      Operand<TFloat32> c = oneDnn ? OneDnnBatchMatMul.apply(tf, a, b, adjA, adjB)
          : tf.train.batchMatMul(a, b, TFloat32.class, BatchMatMul.adjX(adjA), BatchMatMul.adjY(adjB));
      assertEquals(oneDnn, GraphTesting.hasOp(g, OneDnnBatchMatMul.OP));
      Operand<TFloat32> w = tf.reshape(tf.constant(GraphTesting.randn(6 * m * n, 3, 1f, 0f)),
          tf.constant(new int[] {2, 3, m, n}));
      Operand<TFloat32> loss = tf.reduceSum(tf.math.mul(c, w), tf.constant(new int[] {0, 1, 2, 3}));
      var grads = tf.gradients(loss, List.of(a, b));
      List<float[]> out = new ArrayList<>();
      try (Session s = new Session(g)) {
        s.initialize();
        out.add(GraphTesting.read(s, c));
        out.add(GraphTesting.read(s, (Operand<TFloat32>) (Operand<?>) grads.dy(0)));
        out.add(GraphTesting.read(s, (Operand<TFloat32>) (Operand<?>) grads.dy(1)));
      }
      return out;
    }
  }

  @Test
  void matchesBatchMatMulV3InValueAndGradientForEveryAdjoint() {
    assumeTrue(OneDnnBatchMatMul.available(), "oneDNN is off or absent in this TensorFlow build");
    String[] what = {"c", "da", "db"};
    for (boolean adjA : new boolean[] {false, true}) {
      for (boolean adjB : new boolean[] {false, true}) {
        List<float[]> ours = productAndGrads(true, adjA, adjB);
        List<float[]> tfs = productAndGrads(false, adjA, adjB);
        for (int q = 0; q < 3; q++) {
          assertEquals(tfs.get(q).length, ours.get(q).length);
          for (int i = 0; i < tfs.get(q).length; i++) {
            assertEquals(tfs.get(q)[i], ours.get(q)[i], 1e-5 * Math.max(1, Math.abs(tfs.get(q)[i])),
                what[q] + "[" + i + "], adj_x " + adjA + ", adj_y " + adjB);
          }
        }
      }
    }
  }

  @Test
  void aProductWorkedByHand() {
    assumeTrue(OneDnnBatchMatMul.available(), "oneDNN is off or absent in this TensorFlow build");
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      // [1 2; 3 4] · [5 6; 7 8]ᵀ = [17 23; 39 53]
      var c = OneDnnBatchMatMul.apply(tf, tf.constant(new float[][][] {{{1, 2}, {3, 4}}}),
          tf.constant(new float[][][] {{{5, 6}, {7, 8}}}), false, true);
      float[] v = GraphTesting.read(s, c);
      assertEquals(17f, v[0], 0f);
      assertEquals(23f, v[1], 0f);
      assertEquals(39f, v[2], 0f);
      assertEquals(53f, v[3], 0f);
    }
  }

  @Test
  void broadcastBatchesKeepTfsOp() {
    // the registered gradient does not reduce over broadcast batch axes, so Compute leaves them to V3
    assumeTrue(OneDnnBatchMatMul.available(), "oneDNN is off or absent in this TensorFlow build");
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Compute c = Compute.fp32().withOneDnnBatchProducts(true);
      var same = c.batchMatMul(tf, tf.constant(new float[2][2][3]), tf.constant(new float[2][3][2]), false, false);
      assertEquals(true, GraphTesting.hasOp(g, OneDnnBatchMatMul.OP));
      try (Graph g2 = new Graph()) {
        Ops tf2 = Ops.create(g2);
        c.batchMatMul(tf2, tf2.constant(new float[2][2][3]), tf2.constant(new float[1][3][2]), false, false);
        assertFalse(GraphTesting.hasOp(g2, OneDnnBatchMatMul.OP), "a broadcast batch keeps BatchMatMulV3");
      }
      assertEquals(8, GraphTesting.read(s, same).length);
    }
  }

  @Test
  void onlyCpuTrainingGraphsAskingForItUseIt() {
    assertFalse(Compute.fp32().oneDnnBatchProducts(), "the default Compute (exports) keeps TF's op");
    var t = org.mimtf.config.proto.TrainingConfig.newBuilder().setOnednnBatchProducts(true).build();
    assertFalse(org.mimtf.train.Devices.compute(t, List.of("/device:GPU:0")).oneDnnBatchProducts(), "no GPU kernel");
    assertEquals(OneDnnBatchMatMul.available(),
        org.mimtf.train.Devices.compute(t, List.of("/cpu:0")).oneDnnBatchProducts());
    assertFalse(org.mimtf.train.Devices.compute(t.toBuilder().setOnednnBatchProducts(false).build(), List.of())
        .oneDnnBatchProducts());
  }
}
