package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/** Per-sample gather of visible tokens and its inverse scatter. */
class VisibleTokensTest {
  static final int B = 3;
  static final int N = 7;
  static final int K = 4;
  static final int D = 2;

  @Test
  void gatherThenScatterRoundTripsAndScatterThenGatherIsTheIdentity() {
    SplittableRandom r = new SplittableRandom(9);
    float[] x = new float[B * N * D];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextDouble() + 0.5f; // never 0, so the zeros of the scatter are visible
    }
    int[] idx = new int[B * K];
    for (int b = 0; b < B; b++) {
      int[] perm = new int[N];
      for (int i = 0; i < N; i++) {
        perm[i] = i;
      }
      for (int i = N - 1; i > 0; i--) {
        int j = r.nextInt(i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
      }
      System.arraycopy(perm, 0, idx, b * K, K);
    }
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> xs = tf.reshape(tf.constant(x), tf.constant(new int[] {B, N, D}));
      Operand<TInt32> is = tf.reshape(tf.constant(idx), tf.constant(new int[] {B, K}));
      Operand<TFloat32> gathered = VisibleTokens.gather(tf, xs, is);
      Operand<TFloat32> back = VisibleTokens.scatter(tf, gathered, is, N);
      Operand<TFloat32> again = VisibleTokens.gather(tf, back, is);
      Operand<TFloat32> mask = tf.dtypes.cast(VisibleTokens.mask(tf, is, N), TFloat32.class);
      assertEquals(Shape.of(B, K, D), gathered.shape());
      float[] gv = GraphTesting.read(s, gathered);
      float[] bv = GraphTesting.read(s, back);
      float[] mv = GraphTesting.read(s, mask);
      for (int b = 0; b < B; b++) {
        for (int k = 0; k < K; k++) {
          for (int d = 0; d < D; d++) {
            assertEquals(x[(b * N + idx[b * K + k]) * D + d], gv[(b * K + k) * D + d], "gather [b, k]");
          }
        }
        for (int n = 0; n < N; n++) {
          boolean visible = false;
          for (int k = 0; k < K; k++) {
            visible |= idx[b * K + k] == n;
          }
          assertEquals(visible ? 1f : 0f, mv[b * N + n], "mask");
          for (int d = 0; d < D; d++) {
            assertEquals(visible ? x[(b * N + n) * D + d] : 0f, bv[(b * N + n) * D + d],
                "scatter puts visible tokens back in place and zeros elsewhere");
          }
        }
      }
      assertArrayEquals(gv, GraphTesting.read(s, again), "gather(scatter(y)) = y");
      // The scatter is differentiable: d sum(scatter(y)) / dy = 1.
      var grads = tf.gradients(tf.sum(back, tf.constant(new int[] {0, 1, 2})), List.of(gathered));
      @SuppressWarnings("unchecked")
      Operand<TFloat32> dy = (Operand<TFloat32>) (Operand<?>) grads.dy(0);
      for (float v : GraphTesting.read(s, dy)) {
        assertEquals(1f, v);
      }
      // Orders per view: copy c of [B, C, N] and a slice of it.
      int[] orders = new int[B * 2 * N];
      for (int i = 0; i < orders.length; i++) {
        orders[i] = i;
      }
      Operand<TInt32> o = tf.reshape(tf.constant(orders), tf.constant(new int[] {B, 2, N}));
      Operand<TInt32> c1 = VisibleTokens.slice(tf, VisibleTokens.copy(tf, o, 1), 2, 5);
      try (var res = s.runner().fetch(c1).run()) {
        int[] got = new int[B * 3];
        ((org.tensorflow.types.TInt32) res.get(0)).asRawTensor().data().asInts().read(got);
        assertArrayEquals(new int[] {9, 10, 11, 23, 24, 25, 37, 38, 39}, got);
      }
    }
  }
}
