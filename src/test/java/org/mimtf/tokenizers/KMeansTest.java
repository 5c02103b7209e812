package org.mimtf.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KMeansTest {
  /**
   * Four tight blobs in 3-d: k-means++ seeding puts one centroid on each (random seeding can leave two
   * centroids in one blob, Lloyd's local optimum; that case is covered by the monotone objective).
   */
  @Test
  void recoversWellSeparatedClusters() {
    float[][] centers = {{0, 0, 0}, {5, 5, 0}, {-5, 5, 3}, {0, -6, -4}};
    int per = 500;
    float[] x = new float[4 * per * 3];
    SplittableRandom r = new SplittableRandom(3);
    for (int c = 0; c < 4; c++) {
      for (int i = 0; i < per; i++) {
        for (int d = 0; d < 3; d++) {
          x[(c * per + i) * 3 + d] = centers[c][d] + (float) (0.1 * gauss(r));
        }
      }
    }
    for (boolean plusPlus : new boolean[] {true}) {
      try (KMeans km = new KMeans(x, 4 * per, 3, 4, 700, 0)) {
        KMeans.Result res = km.fit(new KMeans.Options(4, 20, plusPlus, 11, 700, 0), null);
        for (float[] c : centers) {
          double best = Double.MAX_VALUE;
          for (int k = 0; k < 4; k++) {
            double d2 = 0;
            for (int d = 0; d < 3; d++) {
              double diff = res.centroids()[k * 3 + d] - c[d];
              d2 += diff * diff;
            }
            best = Math.min(best, d2);
          }
          assertTrue(Math.sqrt(best) < 0.05, "a centroid within 0.05 of " + java.util.Arrays.toString(c)
              + " (plusPlus=" + plusPlus + "), closest at " + Math.sqrt(best));
        }
        // objective = mean squared distance to the centre ≈ 3 · 0.1²
        assertEquals(0.03, res.finalObjective(), 0.005);
        // the objective never increases (Lloyd's iterations)
        for (int i = 1; i < res.iterations().size(); i++) {
          assertTrue(res.iterations().get(i).objective() <= res.iterations().get(i - 1).objective() + 1e-6);
        }
      }
    }
  }

  @Test
  void assignmentEqualsBruteForceNearestCentroid() {
    SplittableRandom r = new SplittableRandom(5);
    int n = 3000;
    int d = 16;
    int k = 37;
    float[] x = new float[n * d];
    float[] c = new float[k * d];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextDouble();
    }
    for (int i = 0; i < c.length; i++) {
      c[i] = (float) r.nextDouble();
    }
    int[] expected = new int[n];
    for (int i = 0; i < n; i++) {
      double best = Double.MAX_VALUE;
      for (int j = 0; j < k; j++) {
        double s = 0;
        for (int t = 0; t < d; t++) {
          double diff = x[i * d + t] - c[j * d + t];
          s += diff * diff;
        }
        if (s < best) {
          best = s;
          expected[i] = j;
        }
      }
    }
    try (KMeans km = new KMeans(x, n, d, k, 1000, 0)) {
      int[] ids = km.assign(c, k);
      int differ = 0;
      for (int i = 0; i < n; i++) {
        if (ids[i] != expected[i]) {
          // float32 ||c||² − 2x·c may flip a near-tie; accept only genuine ties
          double di = dist(x, c, i, ids[i], d);
          double de = dist(x, c, i, expected[i], d);
          assertEquals(de, di, 1e-5, "point " + i + " assigned to a farther centroid");
          differ++;
        }
      }
      assertTrue(differ <= 3, differ + " near-ties");
    }
  }

  @Test
  void emptyClustersAreRepairedSoEveryCentroidIsUsed() {
    // 60% of the points are identical (like Fashion-MNIST's blank background patches): random
    // initialisation then picks many duplicate centroids, whose clusters come out empty.
    SplittableRandom r = new SplittableRandom(9);
    int n = 2000;
    int d = 4;
    float[] x = new float[n * d];
    for (int i = 0; i < n; i++) {
      if (i % 5 >= 2) {
        continue;
      }
      for (int t = 0; t < d; t++) {
        x[i * d + t] = (float) r.nextDouble();
      }
    }
    try (KMeans km = new KMeans(x, n, d, 32, 2000, 0)) {
      KMeans.Result res = km.fit(new KMeans.Options(32, 15, false, 2, 2000, 0), null);
      assertTrue(res.iterations().get(0).emptyRepaired() > 0, "the test must start with empty clusters");
      int[] ids = km.assign(res.centroids(), 32);
      boolean[] used = new boolean[32];
      for (int id : ids) {
        used[id] = true;
      }
      int u = 0;
      for (boolean b : used) {
        u += b ? 1 : 0;
      }
      assertEquals(32, u, "every centroid has points after repair");
    }
  }

  @Test
  void sameSeedSameCentroids() {
    SplittableRandom r = new SplittableRandom(1);
    float[] x = new float[1000 * 8];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextDouble();
    }
    try (KMeans a = new KMeans(x, 1000, 8, 10, 300, 0)) {
      float[] c1 = a.fit(new KMeans.Options(10, 5, false, 4, 300, 0), null).centroids();
      float[] c2 = a.fit(new KMeans.Options(10, 5, false, 4, 300, 0), null).centroids();
      assertArrayEquals(c1, c2);
    }
  }

  private static double dist(float[] x, float[] c, int i, int j, int d) {
    double s = 0;
    for (int t = 0; t < d; t++) {
      double diff = x[i * d + t] - c[j * d + t];
      s += diff * diff;
    }
    return s;
  }

  private static double gauss(SplittableRandom r) {
    return Math.sqrt(-2 * Math.log(1 - r.nextDouble())) * Math.cos(2 * Math.PI * r.nextDouble());
  }
}
