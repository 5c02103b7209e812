package org.mimtf.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mimtf.nn.Compute;
import org.mimtf.nn.GraphTesting;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.ParamStore;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

class NormEmaQuantizerTest {
  /** 3 codes in 2-d, unit norm: at 0°, 90°, 225°. */
  static final float S = (float) Math.sqrt(0.5);
  static final float[] CODES = {1, 0, 0, 1, -S, -S};

  private static float[] normalize(float[] x, int d) {
    float[] o = x.clone();
    for (int i = 0; i < x.length / d; i++) {
      double n = 0;
      for (int j = 0; j < d; j++) {
        n += x[i * d + j] * x[i * d + j];
      }
      for (int j = 0; j < d; j++) {
        o[i * d + j] = (float) (x[i * d + j] / Math.sqrt(n));
      }
    }
    return o;
  }

  @Test
  void picksTheNearestCodeByCosineAndUpdatesByNormalisedEma() {
    float[] z = normalize(new float[] {2, 0.1f, 0.2f, 3, -1, -1.2f, 1, 0.9f}, 2);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      NormEmaQuantizer q = NormEmaQuantizer.create(ps, tf.withSubScope("q"), 3, 2);
      var setCodes = tf.assign(ps.get("q/embedding").variable(), tf.constant(new float[][] {{1, 0}, {0, 1}, {-S, -S}}));
      Placeholder<TFloat32> zp = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(4, 2)));
      NormEmaQuantizer.Quantized res = q.quantize(tf, Compute.fp32(), zp, 1f);
      var update = q.emaUpdate(tf, res, 0.9f, tf.constant(5L), false, 100, tf.constant(new long[] {1, 2}));
      try (Session s = new Session(g)) {
        s.initialize();
        s.runner().addTarget(setCodes).run();
        try (TFloat32 zt = GraphTesting.tensor(z, 4, 2);
            var r = s.runner().feed(zp, zt).fetch(res.ids()).fetch(res.counts()).fetch(res.commitment())
                .addTarget(update).run()) {
          int[] ids = new int[4];
          ((TInt32) r.get(0)).asRawTensor().data().asInts().read(ids);
          // brute force: largest cosine
          for (int i = 0; i < 4; i++) {
            int best = 0;
            double bestDot = -2;
            for (int k = 0; k < 3; k++) {
              double dot = z[2 * i] * CODES[2 * k] + z[2 * i + 1] * CODES[2 * k + 1];
              if (dot > bestDot) {
                bestDot = dot;
                best = k;
              }
            }
            assertEquals(best, ids[i], "row " + i);
          }
          assertArrayEquals(new int[] {0, 1, 2, 0}, ids);
          float[] counts = new float[3];
          ((TFloat32) r.get(1)).asRawTensor().data().asFloats().read(counts);
          assertArrayEquals(new float[] {2, 1, 1}, counts);
          // commitment = mean over all elements of (z_q − z)²
          double c = 0;
          for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) {
              double diff = CODES[2 * ids[i] + j] - z[2 * i + j];
              c += diff * diff;
            }
          }
          assertEquals(c / 8, ((TFloat32) r.get(2)).getFloat(), 1e-6);
        }
        // EMA: code 0 ← l2norm(0.9 e0 + 0.1 l2norm(mean(z0, z3))); unused codes keep only renormalised e
        float[] e = GraphTesting.read(s, q.codebook());
        float[] m0 = normalize(new float[] {(z[0] + z[6]) / 2, (z[1] + z[7]) / 2}, 2);
        float[] e0 = normalize(new float[] {0.9f * 1 + 0.1f * m0[0], 0.9f * 0 + 0.1f * m0[1]}, 2);
        assertArrayEquals(e0, new float[] {e[0], e[1]}, 1e-6f);
        float[] m1 = normalize(new float[] {z[2], z[3]}, 2);
        float[] e1 = normalize(new float[] {0.1f * m1[0], 0.9f + 0.1f * m1[1]}, 2);
        assertArrayEquals(e1, new float[] {e[2], e[3]}, 1e-6f);
      }
    }
  }

  @Test
  void unusedCodesKeepTheirVector() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      NormEmaQuantizer q = NormEmaQuantizer.create(ps, tf.withSubScope("q"), 3, 2);
      var set = tf.assign(ps.get("q/embedding").variable(), tf.constant(new float[][] {{1, 0}, {0, 1}, {-S, -S}}));
      Operand<TFloat32> z = tf.constant(new float[][] {{1, 0}, {0.99f, 0.141f}});
      var res = q.quantize(tf, Compute.fp32(), NormEmaQuantizer.l2norm(tf, z), 1f);
      var update = q.emaUpdate(tf, res, 0.5f, tf.constant(1L), false, 100, tf.constant(new long[] {1, 2}));
      try (Session s = new Session(g)) {
        s.initialize();
        s.runner().addTarget(set).run();
        s.runner().addTarget(update).run();
        float[] e = GraphTesting.read(s, q.codebook());
        assertArrayEquals(new float[] {0, 1, -S, -S}, java.util.Arrays.copyOfRange(e, 2, 6), 1e-6f);
      }
    }
  }

  @Test
  void kmeansInitGivesUnitCodesThatCoverTheData() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      NormEmaQuantizer q = NormEmaQuantizer.create(ps, tf.withSubScope("q"), 4, 3);
      // 4 tight directions, 50 rows each
      float[][] dirs = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {-1, -1, 0}};
      float[] z = new float[200 * 3];
      java.util.Random r = new java.util.Random(1);
      for (int i = 0; i < 200; i++) {
        for (int j = 0; j < 3; j++) {
          z[i * 3 + j] = dirs[i % 4][j] + 0.05f * (float) r.nextGaussian();
        }
      }
      Operand<TFloat32> zn = NormEmaQuantizer.l2norm(tf, tf.reshape(tf.constant(z), tf.constant(new int[] {200, 3})));
      var init = q.kmeansInit(tf, Compute.fp32(), zn, 10, tf.constant(new long[] {3, 4}));
      try (Session s = new Session(g)) {
        s.initialize();
        s.runner().addTarget(init).run();
        float[] e = GraphTesting.read(s, q.codebook());
        for (float[] d : dirs) {
          float[] u = normalize(d, 3);
          double best = -2;
          for (int k = 0; k < 4; k++) {
            best = Math.max(best, u[0] * e[3 * k] + u[1] * e[3 * k + 1] + u[2] * e[3 * k + 2]);
          }
          assertEquals(1.0, best, 0.01, "a code near direction " + java.util.Arrays.toString(d));
        }
      }
    }
  }
}
