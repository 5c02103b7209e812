package org.mimtf.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.MixupConfig;

/** timm's Mixup/CutMix semantics on a batch whose example i is the constant image i. */
class MixupTest {
  private static final int N = 4;
  private static final int H = 8;
  private static final int W = 10;
  private static final int C = 10;

  private static float[] constantImages() {
    float[] x = new float[N * H * W];
    for (int i = 0; i < x.length; i++) {
      x[i] = i / (H * W);
    }
    return x;
  }

  @Test
  void cutmixPastesABoxOfTheFlippedExampleAndLabelsFollowTheBoxArea() {
    MixupConfig cfg = MixupConfig.newBuilder().setMixupAlpha(0).setCutmixAlpha(1.0f)
        .setMode(MixupConfig.Mode.ELEMENT).build();
    Mixup m = new Mixup(cfg, C, 0.1f, 0, "image");
    float[] x = constantImages();
    int[] labels = {0, 1, 2, 3};
    float[] t = new float[N * C];
    Mixup.Draw[] d = m.mix(x, labels, t, N, H, W, 1, new SplittableRandom(42));
    boolean someBox = false;
    for (int i = 0; i < N; i++) {
      int j = N - 1 - i;
      int pasted = 0;
      for (int y = 0; y < H; y++) {
        for (int xx = 0; xx < W; xx++) {
          float v = x[(i * H + y) * W + xx];
          boolean inBox = y >= d[i].y0() && y < d[i].y1() && xx >= d[i].x0() && xx < d[i].x1();
          assertEquals(inBox ? j : i, v, 0, "pixel (" + y + ", " + xx + ") of example " + i);
          pasted += inBox ? 1 : 0;
        }
      }
      someBox |= pasted > 0;
      // correct_lam: lambda = 1 - box area / image area, exactly
      assertEquals(1.0 - pasted / (double) (H * W), d[i].lambda(), 1e-12);
      float lam = (float) d[i].lambda();
      for (int k = 0; k < C; k++) {
        float yi = (k == labels[i] ? 0.9f + 0.01f : 0.01f);
        float yj = (k == labels[j] ? 0.9f + 0.01f : 0.01f);
        assertEquals(yi * lam + yj * (1 - lam), t[i * C + k], 1e-7, "target " + i + "," + k);
      }
    }
    assertTrue(someBox, "seed 42 draws at least one non-empty box");
  }

  @Test
  void mixupBlendsWithTheFlippedBatchByOneLambdaPerBatch() {
    MixupConfig cfg = MixupConfig.newBuilder().setMixupAlpha(0.8f).setCutmixAlpha(0).build();
    Mixup m = new Mixup(cfg, C, 0f, 0, "image");
    float[] x = constantImages();
    int[] labels = {4, 5, 6, 7};
    float[] t = new float[N * C];
    Mixup.Draw[] d = m.mix(x, labels, t, N, H, W, 1, new SplittableRandom(7));
    double lam = d[0].lambda();
    assertTrue(lam > 0 && lam < 1);
    for (int i = 0; i < N; i++) {
      assertEquals(lam, d[i].lambda());
      float want = (float) (i * lam) + (float) ((N - 1 - i) * (1 - lam));
      assertEquals(want, x[i * H * W + 17], 1e-5);
      assertEquals((float) lam, t[i * C + labels[i]], 1e-6);
      assertEquals((float) (1 - lam), t[i * C + labels[N - 1 - i]], 1e-6);
    }
  }

  @Test
  void betaSamplesHaveTheMeanAndVarianceOfBetaAlphaAlpha() {
    SplittableRandom r = new SplittableRandom(3);
    double a = 0.8;
    int n = 200_000;
    double s = 0;
    double s2 = 0;
    for (int i = 0; i < n; i++) {
      double v = Mixup.beta(r, a);
      s += v;
      s2 += v * v;
    }
    double mean = s / n;
    double var = s2 / n - mean * mean;
    assertEquals(0.5, mean, 0.005);
    assertEquals(1 / (4 * (2 * a + 1)), var, 0.003); // Beta(a, a): a² / ((2a)² (2a + 1))
  }
}
