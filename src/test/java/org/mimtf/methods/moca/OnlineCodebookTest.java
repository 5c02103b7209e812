package org.mimtf.methods.moca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.nn.Compute;
import org.mimtf.nn.GraphTesting;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/** The teacher's soft assignments, temperature statistics and bag of words against hand computations. */
class OnlineCodebookTest {
  static final int G = 4;
  static final int N = G * G;
  static final int D = 3;
  static final int K = 5;

  static float[] random(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] a = new float[n];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) (r.nextDouble() * 2 - 1);
    }
    return a;
  }

  static float[] unitRows(float[] x, int d) {
    float[] out = x.clone();
    for (int r = 0; r < x.length / d; r++) {
      double n = 0;
      for (int j = 0; j < d; j++) {
        n += x[r * d + j] * x[r * d + j];
      }
      n = Math.max(Math.sqrt(n), 1e-5);
      for (int j = 0; j < d; j++) {
        out[r * d + j] = (float) (x[r * d + j] / n);
      }
    }
    return out;
  }

  /** assign() on features [2, N, D] (one image, two views), codebook [K, D], μ_prev. */
  static List<float[]> assign(float[] feats, float[] words, float muPrev, int border) {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> f = tf.constant(org.tensorflow.ndarray.StdArrays.ndCopyOf(reshape3(feats, 2, N, D)));
      Operand<TFloat32> w = tf.constant(org.tensorflow.ndarray.StdArrays.ndCopyOf(reshape2(words, K, D)));
      OnlineCodebook.Assignment a = OnlineCodebook.assign(tf, Compute.fp32(), f, w, tf.constant(muPrev), 10f,
          OnlineCodebook.interior(G, border));
      return List.of(GraphTesting.read(s, a.cos()), GraphTesting.read(s, a.codes()), GraphTesting.read(s, a.bows()),
          GraphTesting.read(s, a.muBatch()), GraphTesting.read(s, a.entropy()), GraphTesting.read(s, a.unit()));
    }
  }

  static float[][][] reshape3(float[] a, int x, int y, int z) {
    float[][][] o = new float[x][y][z];
    for (int i = 0; i < x; i++) {
      for (int j = 0; j < y; j++) {
        System.arraycopy(a, (i * y + j) * z, o[i][j], 0, z);
      }
    }
    return o;
  }

  static float[][] reshape2(float[] a, int x, int y) {
    float[][] o = new float[x][y];
    for (int i = 0; i < x; i++) {
      System.arraycopy(a, i * y, o[i], 0, y);
    }
    return o;
  }

  @Test
  void softAssignmentsAndAdaptiveTemperatureMatchAHandComputation() {
    float[] feats = random(2 * N * D, 1);
    float[] words = unitRows(random(K * D, 2), D);
    float muPrev = 0.37f;
    List<float[]> out = assign(feats, words, muPrev, 1);
    float[] u = unitRows(feats, D);
    double[] gapSum = new double[2];
    double entSum = 0;
    for (int t = 0; t < 2 * N; t++) {
      double[] cos = new double[K];
      double max = -9;
      double mean = 0;
      for (int k = 0; k < K; k++) {
        for (int j = 0; j < D; j++) {
          cos[k] += u[t * D + j] * words[k * D + j];
        }
        assertEquals(cos[k], out.get(0)[t * K + k], 1e-5, "cosine");
        max = Math.max(max, cos[k]);
        mean += cos[k] / K;
      }
      gapSum[t / N] += max - mean;
      // q_T = softmax((inv_delta / μ_prev) · cos): temperature μ_prev / 10 (the code's, not the paper's 1/(10μ))
      double z = 0;
      double[] e = new double[K];
      for (int k = 0; k < K; k++) {
        e[k] = Math.exp(cos[k] * 10 / muPrev);
        z += e[k];
      }
      for (int k = 0; k < K; k++) {
        assertEquals(e[k] / z, out.get(1)[t * K + k], 1e-5, "assignment of token " + t + " to word " + k);
        entSum -= e[k] / z * Math.log(e[k] / z);
      }
    }
    // μ_batch per view: mean over the view's tokens of max − mean cosine (all tokens, border included)
    assertEquals(gapSum[0] / N, out.get(3)[0], 1e-5);
    assertEquals(gapSum[1] / N, out.get(3)[1], 1e-5);
    assertEquals(entSum / (2 * N), out.get(4)[0], 1e-4, "mean entropy of q_T");
    for (int i = 0; i < u.length; i++) {
      assertEquals(u[i], out.get(5)[i], 1e-6, "unit teacher features");
    }
  }

  @Test
  void theBagOfWordsAveragesTheInteriorTokensAndIgnoresTheBorder() {
    float[] feats = random(2 * N * D, 3);
    float[] words = unitRows(random(K * D, 4), D);
    List<float[]> base = assign(feats, words, 0.5f, 1);
    int[] interior = OnlineCodebook.interior(G, 1);
    assertArrayEquals(new int[] {5, 6, 9, 10}, interior, "a 4x4 grid without its one-token border");
    float[] q = base.get(1);
    for (int v = 0; v < 2; v++) {
      double[] bow = new double[K];
      for (int t : interior) {
        for (int k = 0; k < K; k++) {
          bow[k] += q[(v * N + t) * K + k] / interior.length;
        }
      }
      double l1 = 0;
      for (double x : bow) {
        l1 += x;
      }
      for (int k = 0; k < K; k++) {
        assertEquals(bow[k] / Math.max(l1, 1e-5), base.get(2)[v * K + k], 1e-6, "bag of words of view " + v);
      }
    }
    // Changing every border token of both views changes nothing in the bags of words...
    float[] border = feats.clone();
    for (int v = 0; v < 2; v++) {
      for (int t = 0; t < N; t++) {
        int r = t / G;
        int c = t % G;
        if (r == 0 || c == 0 || r == G - 1 || c == G - 1) {
          for (int j = 0; j < D; j++) {
            border[(v * N + t) * D + j] = -feats[(v * N + t) * D + j] + 0.3f * j;
          }
        }
      }
    }
    List<float[]> moved = assign(border, words, 0.5f, 1);
    assertArrayEquals(base.get(2), moved.get(2), 0f, "border tokens are ignored");
    assertNotEquals(base.get(3)[0], moved.get(3)[0], "(they still count in the temperature statistics)");
    // ...while one interior token does.
    float[] inner = feats.clone();
    for (int j = 0; j < D; j++) {
      inner[6 * D + j] = -feats[6 * D + j];
    }
    List<float[]> changed = assign(inner, words, 0.5f, 1);
    float diff = 0;
    for (int k = 0; k < K; k++) {
      diff += Math.abs(changed.get(2)[k] - base.get(2)[k]);
    }
    org.junit.jupiter.api.Assertions.assertTrue(diff > 1e-4, "an interior token moves the bag of words: " + diff);
    // Border 0 keeps every token.
    assertEquals(N, OnlineCodebook.interior(G, 0).length);
    assertArrayEquals(new int[] {16, 17, 18, 23, 24, 25, 30, 31, 32}, OnlineCodebook.interior(7, 2));
  }

  @Test
  void diversityIsOneMinusTheMeanCosineBetweenDistinctWords() {
    float[] words = unitRows(random(K * D, 5), D);
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      float got = GraphTesting.read(s, OnlineCodebook.diversity(tf,
          tf.constant(org.tensorflow.ndarray.StdArrays.ndCopyOf(reshape2(words, K, D)))))[0];
      double sum = 0;
      for (int a = 0; a < K; a++) {
        for (int b = 0; b < K; b++) {
          if (a != b) {
            for (int j = 0; j < D; j++) {
              sum += words[a * D + j] * words[b * D + j];
            }
          }
        }
      }
      assertEquals(1 - sum / (K * (K - 1)), got, 1e-5);
    }
  }
}
