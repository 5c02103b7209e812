package org.mimtf.finetune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.Recipe;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;

/** {@code finetune.model_ema}: timm's ModelEmaV2 recursion over the raw weights, and its export. */
class FinetuneEmaTest {
  @TempDir Path dir;

  private static final List<String> NAMES =
      List.of("head/kernel", "head/bias", "fc_norm/gamma", "encoder/blocks/0/mlp/fc1/kernel");

  @Test
  void emaAfterEachStepIsTheHandRecursionOfTheRawWeightsAndIsExported() throws Exception {
    float d = 0.75f;
    Recipe r =
        FinetuneTest.tiny(
            dir, 4, "finetune.encoder=random_init", "finetune.model_ema=true",
            "finetune.model_ema_decay=" + d, "finetune.training.checkpoint_every_steps=1",
            "finetune.training.keep_checkpoints=10", "finetune.eval_every_steps=0");
    Finetuner.Summary s =
        new Finetuner(r, new PrintStream(new ByteArrayOutputStream())).run();
    assertEquals(4, s.train().step());
    Path ckpts = dir.resolve("ft/checkpoints");
    List<String> names = new ArrayList<>();
    for (String n : NAMES) {
      names.add(n);
      names.add(ClassifierTask.EMA_SCOPE + n);
    }
    List<Map<String, float[]>> at = new ArrayList<>();
    for (int k = 1; k <= 4; k++) {
      at.add(EncoderLoader.read(ckpts.resolve("ckpt-" + k), names));
    }
    for (String n : NAMES) {
      // The raw weights move, so the check is not vacuous.
      assertFalse(java.util.Arrays.equals(at.get(0).get(n), at.get(3).get(n)), n + " did not train");
      // Step 1 from the initial weights w0 (random_init: the EMA starts as their copy):
      // ema1 = d w0 + (1 - d) w1, i.e. w0 = (ema1 - (1 - d) w1) / d must be the initial value, which
      // for the zero-initialised head bias is 0.
      if (n.equals("head/bias")) {
        float[] e1 = at.get(0).get(ClassifierTask.EMA_SCOPE + n);
        float[] w1 = at.get(0).get(n);
        for (int i = 0; i < e1.length; i++) {
          assertEquals((1f - d) * w1[i], e1[i], 1e-7f, "head/bias EMA at step 1 [" + i + "]");
        }
      }
      float[] ema = at.get(0).get(ClassifierTask.EMA_SCOPE + n).clone();
      for (int k = 2; k <= 4; k++) {
        float[] w = at.get(k - 1).get(n);
        for (int i = 0; i < ema.length; i++) {
          ema[i] = d * ema[i] + (1f - d) * w[i];
        }
        assertArrayEquals(
            ema, at.get(k - 1).get(ClassifierTask.EMA_SCOPE + n), 1e-6f, n + " at step " + k);
        assertFalse(
            java.util.Arrays.equals(ema, w), n + ": the EMA must differ from the raw weights");
      }
    }
    // The export (best = last evaluation at step 4) carries the EMA weights under the plain names.
    Map<String, float[]> last = at.get(3);
    try (SavedModelBundle b = SavedModelBundle.load(s.export().toString(), "serve")) {
      for (String n : NAMES) {
        try (Result res = b.session().runner().fetch(n).run()) {
          TFloat32 t = (TFloat32) res.get(0);
          float[] a = new float[(int) t.shape().size()];
          t.copyTo(DataBuffers.of(a, false, false));
          assertArrayEquals(last.get(ClassifierTask.EMA_SCOPE + n), a, n + " in the export");
        }
      }
    }
    assertEquals(4, s.bestStep());
    assertTrue(s.top1() >= 0);
  }
}
