package org.mimtf.methods.conmim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.nn.Compute;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;

/**
 * The intra-image patch contrast (paper Eq. 3) on a tiny batch, against a hand computation in double
 * precision: L2 normalisation, similarities / τ, a softmax over the N keys of the same image only,
 * the row's own position as the label, the mean over masked rows; and that only masked rows enter.
 */
class ConmimLossTest {
  static final int B = 2;
  static final int N = 4;
  static final int C = 3;
  static final float TAU = 0.1f;

  /** Masked: image 0 positions 1 and 3, image 1 positions 0, 1 and 2 (unequal counts on purpose). */
  static final boolean[] MASK = {false, true, false, true, true, true, true, false};

  static float[] random(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] a = new float[B * N * C];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) r.nextGaussian();
    }
    return a;
  }

  private static final class Fixture implements AutoCloseable {
    final Graph g = new Graph();
    final Session s = new Session(g);
    final Ops tf = Ops.create(g);
    final Placeholder<TFloat32> q = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, N, C)));
    final Placeholder<TFloat32> k = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, N, C)));
    final Placeholder<TBool> mask = tf.placeholder(TBool.class, Placeholder.shape(Shape.of(B, N)));
    final ConmimMethod.Contrast out = ConmimMethod.contrast(tf, Compute.fp32(), q, k, mask, TAU, N);

    /** loss, accuracy */
    float[] run(float[] qv, float[] kv, boolean[] m) {
      try (TFloat32 a = TFloat32.tensorOf(Shape.of(B, N, C), DataBuffers.of(qv, true, false));
          TFloat32 b = TFloat32.tensorOf(Shape.of(B, N, C), DataBuffers.of(kv, true, false));
          TBool c = TBool.tensorOf(Shape.of(B, N), DataBuffers.of(m, true, false));
          Result r = s.runner().feed(q, a).feed(k, b).feed(mask, c).fetch(out.loss()).fetch(out.accuracy()).run()) {
        return new float[] {((TFloat32) r.get(0)).getFloat(), ((TFloat32) r.get(1)).getFloat()};
      }
    }

    @Override
    public void close() {
      s.close();
      g.close();
    }
  }

  static double[] unit(float[] x, int b, int i) {
    double[] v = new double[C];
    double n = 0;
    for (int c = 0; c < C; c++) {
      v[c] = x[(b * N + i) * C + c];
      n += v[c] * v[c];
    }
    for (int c = 0; c < C; c++) {
      v[c] /= Math.sqrt(n);
    }
    return v;
  }

  /** The loss and accuracy written out: Σ over masked (b, j) of −log softmax_i(cos(q_bj, k_bi)/τ)[j]. */
  static double[] byHand(float[] q, float[] k, boolean[] mask) {
    double sum = 0;
    int rows = 0;
    int correct = 0;
    for (int b = 0; b < B; b++) {
      for (int j = 0; j < N; j++) {
        if (!mask[b * N + j]) {
          continue;
        }
        double[] qj = unit(q, b, j);
        double[] logits = new double[N];
        int best = 0;
        for (int i = 0; i < N; i++) {
          double[] ki = unit(k, b, i); // keys of the same image only, visible positions included
          for (int c = 0; c < C; c++) {
            logits[i] += qj[c] * ki[c] / TAU;
          }
          best = logits[i] > logits[best] ? i : best;
        }
        double lse = 0;
        for (double l : logits) {
          lse += Math.exp(l);
        }
        sum += Math.log(lse) - logits[j];
        rows++;
        correct += best == j ? 1 : 0;
      }
    }
    return new double[] {sum / rows, (double) correct / rows};
  }

  @Test
  void lossAndAccuracyMatchTheHandComputation() {
    float[] q = random(1);
    float[] k = random(2);
    // make one query match its own key exactly, so the accuracy is not trivially 0
    System.arraycopy(k, (1 * N + 0) * C, q, (1 * N + 0) * C, C);
    double[] want = byHand(q, k, MASK);
    try (Fixture f = new Fixture()) {
      float[] got = f.run(q, k, MASK);
      assertEquals(want[0], got[0], 1e-5 * Math.abs(want[0]), "loss");
      assertEquals(want[1], got[1], 1e-6, "accuracy");
      // scaling a query or a key changes nothing (cosine similarity)
      float[] q2 = q.clone();
      for (int i = 0; i < q2.length; i++) {
        q2[i] *= 3.5f;
      }
      assertEquals(got[0], f.run(q2, k, MASK)[0], 1e-5 * Math.abs(got[0]), "invariant to query scale");
    }
  }

  @Test
  void onlyMaskedRowsAreQueriesButEveryPositionIsAKey() {
    float[] q = random(3);
    float[] k = random(4);
    try (Fixture f = new Fixture()) {
      float base = f.run(q, k, MASK)[0];
      // queries at visible positions do not enter the loss
      float[] qv = q.clone();
      for (int p = 0; p < B * N; p++) {
        if (!MASK[p]) {
          for (int c = 0; c < C; c++) {
            qv[p * C + c] = (float) Math.sin(7 * p + c);
          }
        }
      }
      assertEquals(base, f.run(qv, k, MASK)[0], "queries of visible positions changed the loss");
      // a masked query does
      float[] qm = q.clone();
      qm[1 * C] += 1f; // image 0, position 1 (masked)
      assertNotEquals(base, f.run(qm, k, MASK)[0]);
      // keys at visible positions are negatives of the masked queries of their own image
      float[] kv = k.clone();
      kv[0] += 1f; // image 0, position 0 (visible)
      float moved = f.run(q, kv, MASK)[0];
      assertNotEquals(base, moved);
      assertEquals(byHand(q, kv, MASK)[0], moved, 1e-5 * Math.abs(moved));
      // no keys from other images: image 1's keys do not affect image 0's rows
      boolean[] only0 = {false, true, false, true, false, false, false, false};
      float img0 = f.run(q, k, only0)[0];
      float[] k1 = k.clone();
      for (int p = N; p < 2 * N; p++) {
        for (int c = 0; c < C; c++) {
          k1[p * C + c] = (float) Math.cos(p + 3 * c);
        }
      }
      assertEquals(img0, f.run(q, k1, only0)[0], "another image's keys changed image 0's loss");
    }
  }
}
