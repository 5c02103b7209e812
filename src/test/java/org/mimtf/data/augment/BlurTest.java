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
  void matchesDirectClampedConvolutionOnAnySize() {
    // Reference: out(y, x) = Σ_i Σ_j k[i] k[j] in(clamp(y + i - r), clamp(x + j - r)), computed
    // directly in double. Sizes include images narrower than the kernel (all pixels on the edge path).
    SplittableRandom rng = new SplittableRandom(3);
    int[][] sizes = {{7, 9}, {3, 20}, {20, 3}, {1, 1}, {16, 16}};
    for (int[] size : sizes) {
      for (int c : new int[] {1, 3}) {
        for (double sigma : new double[] {0.3, 1.0, 2.0}) {
          int h = size[0];
          int w = size[1];
          float[] px = new float[h * w * c];
          for (int i = 0; i < px.length; i++) {
            px[i] = (float) rng.nextDouble();
          }
          Image in = Image.wrap(h, w, c, px);
          Image out = GaussianBlur.blur(in, sigma);
          float[] k = GaussianBlur.kernel(sigma);
          int r = k.length / 2;
          for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
              for (int ch = 0; ch < c; ch++) {
                double acc = 0;
                for (int i = 0; i < k.length; i++) {
                  for (int j = 0; j < k.length; j++) {
                    int sy = Math.min(h - 1, Math.max(0, y + i - r));
                    int sx = Math.min(w - 1, Math.max(0, x + j - r));
                    acc += (double) k[i] * k[j] * in.get(sy, sx, ch);
                  }
                }
                assertEquals(
                    acc, out.get(y, x, ch), 1e-5, h + "x" + w + "x" + c + " sigma " + sigma);
              }
            }
          }
        }
      }
    }
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
