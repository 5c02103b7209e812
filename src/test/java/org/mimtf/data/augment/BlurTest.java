package org.mimtf.data.augment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.data.Image;

class BlurTest {

  @Test
  void kernelIsNormalisedGaussianOfRadiusCeil3Sigma() {
    float[] k = GaussianBlur.kernel(1.0);
    assertEquals(7, k.length); // radius ceil(3) = 3
    double sum = 0;
    for (float v : k) {
      sum += v;
    }
    assertEquals(1.0, sum, 1e-6);
    // Ratio of neighbouring taps: exp(-1/2) between 0 and 1, exp(-3/2) between 1 and 2.
    assertEquals(Math.exp(-0.5), k[4] / k[3], 1e-6);
    assertEquals(Math.exp(-1.5), k[5] / k[4], 1e-6);
    assertEquals(k[2], k[4]);
    assertEquals(5, GaussianBlur.kernel(0.5).length); // ceil(1.5) = 2
  }

  @Test
  void constantImageIsUnchanged() {
    float[] px = new float[9 * 11 * 3];
    java.util.Arrays.fill(px, 0.6f);
    for (double sigma : new double[] {0.1, 0.7, 2.0, 5.0}) {
      Image out = GaussianBlur.blur(Image.wrap(9, 11, 3, px), sigma);
      for (float v : out.data()) {
        assertEquals(0.6f, v, 1e-6f);
      }
    }
  }

  @Test
  void impulseSpreadsSymmetricallyAndKeepsItsMass() {
    int n = 15;
    int c = 7;
    float[] px = new float[n * n];
    px[c * n + c] = 1f;
    double sigma = 1.3;
    Image out = GaussianBlur.blur(Image.wrap(n, n, 1, px), sigma);
    float[] k = GaussianBlur.kernel(sigma);
    int r = k.length / 2;
    double total = 0;
    for (int y = 0; y < n; y++) {
      for (int x = 0; x < n; x++) {
        float v = out.get(y, x, 0);
        total += v;
        assertEquals(v, out.get(2 * c - y, x, 0), 1e-7f);
        assertEquals(v, out.get(y, 2 * c - x, 0), 1e-7f);
        assertEquals(v, out.get(x, y, 0), 1e-7f);
        // separable: the response is the outer product of the kernel
        int dy = y - c;
        int dx = x - c;
        float expected =
            Math.abs(dy) <= r && Math.abs(dx) <= r ? k[dy + r] * k[dx + r] : 0f;
        assertEquals(expected, v, 1e-7f);
      }
    }
    assertEquals(1.0, total, 1e-5);
    assertTrue(out.get(c, c, 0) < 1f);
  }

  @Test
  void probabilityAndPerChannelIndependence() {
    Image in = Image.wrap(1, 3, 3, new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1});
    SplittableRandom rng = new SplittableRandom(1);
    assertSame(in, new GaussianBlur(0.0, 0.1, 2.0).apply(in, rng));
    Image out = new GaussianBlur(1.0, 1.0, 1.0).apply(in, rng);
    // The channels never mix: channel sums are preserved up to edge replication effects, and a
    // channel that is 0 everywhere stays 0.
    Image zeroBlue = Image.wrap(1, 3, 3, new float[] {1, 0, 0, 0, 1, 0, 0.5f, 0, 0});
    Image blurred = GaussianBlur.blur(zeroBlue, 1.0);
    for (int x = 0; x < 3; x++) {
      assertEquals(0f, blurred.get(0, x, 2));
    }
    assertEquals(3, out.width());
  }
}
