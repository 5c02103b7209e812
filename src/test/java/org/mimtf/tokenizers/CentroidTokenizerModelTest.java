package org.mimtf.tokenizers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.nn.VitConfig;
import org.mimtf.testing.SavedModelProbe;

class CentroidTokenizerModelTest {
  @TempDir Path dir;

  @Test
  void tokenizerSavedModelGivesBruteForceIdsInAFreshJvm() throws Exception {
    // 8x8 RGB images, patch 4: 4 patches of 48 values (c, py, px)
    VitConfig vit = new VitConfig(8, 1, 1, 8, 8, 4, 3, ModelConfig.AbsPosEmbedding.ABS_NONE,
        ModelConfig.RelPosBias.REL_NONE, ModelConfig.QkvBias.QV_BIAS, 0f, 0f, 1e-6f, ModelConfig.Init.BEIT, null, null,
        0);
    int k = 10;
    int pd = 48;
    float[] centroids = new float[k * pd];
    SplittableRandom r = new SplittableRandom(2);
    for (int i = 0; i < centroids.length; i++) {
      centroids[i] = (float) r.nextDouble();
    }
    Path sm = dir.resolve("tok");
    CentroidTokenizerModel.export(centroids, k, vit, sm);
    Map<String, float[]> out = SavedModelProbe.runInFreshJvm(sm, 2, 8, 8, 3, 77);
    float[] images = SavedModelProbe.images(2, 8, 8, 3, 77);
    float[] ids = out.get("token_ids");
    assertEquals(2 * 4, ids.length);
    for (int b = 0; b < 2; b++) {
      for (int gy = 0; gy < 2; gy++) {
        for (int gx = 0; gx < 2; gx++) {
          float[] patch = new float[pd];
          int o = 0;
          for (int c = 0; c < 3; c++) {
            for (int py = 0; py < 4; py++) {
              for (int px = 0; px < 4; px++) {
                patch[o++] = images[((b * 8 + gy * 4 + py) * 8 + gx * 4 + px) * 3 + c];
              }
            }
          }
          int best = 0;
          double bestD = Double.MAX_VALUE;
          for (int j = 0; j < k; j++) {
            double s = 0;
            for (int t = 0; t < pd; t++) {
              double diff = patch[t] - centroids[j * pd + t];
              s += diff * diff;
            }
            if (s < bestD) {
              bestD = s;
              best = j;
            }
          }
          int p = b * 4 + gy * 2 + gx;
          assertEquals(best, (int) ids[p], "image " + b + " patch " + p);
          float[] got = java.util.Arrays.copyOfRange(out.get("centroid_patches"), p * pd, (p + 1) * pd);
          assertArrayEquals(java.util.Arrays.copyOfRange(centroids, best * pd, (best + 1) * pd), got, 1e-6f);
        }
      }
    }
  }
}
