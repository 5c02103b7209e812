package org.mimtf.methods.smr;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.api.MimMethod;
import org.mimtf.config.proto.Recipe;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.testing.SavedModelProbe;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.train.Trainer;

/**
 * SMR end to end on the tiny recipe: the teacher SavedModel beside the session, training steps, the
 * logged metrics, and both exports (plain, in a fresh JVM; merging, its bookkeeping outputs).
 */
class SmrTrainingTest {
  @TempDir Path dir;

  @Test
  void trainsAndExportsThePlainAndTheMergingEncoder() throws Exception {
    Recipe r = TinyRecipes.smr(dir, 12, "smr.export_encoder=PLAIN_AND_MERGING", "schedule.base_lr=2e-3");
    MimMethod m = MethodRegistry.create(r);
    assertEquals(1, m.batchModels().size(), "the teacher runs beside the session");
    Trainer.Summary s = new Trainer(r, m, false, new PrintStream(new ByteArrayOutputStream())).run();
    assertEquals(12, s.step());
    List<Double> losses = TinyRecipes.losses(s.runDir());
    double first = losses.get(0);
    double last = (losses.get(losses.size() - 1) + losses.get(losses.size() - 2) + losses.get(losses.size() - 3)) / 3;
    assertTrue(last < first, "loss " + first + " -> " + last);
    String log = Files.readString(s.runDir().resolve("metrics.jsonl"));
    for (String key : List.of("recon_loss", "recon_cosine", "tokens_after_block1", "tokens_after_block2",
        "step_ms", "batch_models_ms", "largest_group")) {
      assertTrue(log.contains("\"" + key + "\""), key + " logged");
    }

    Path plain = MethodRegistry.exportRun(r, m.encoder(), s.lastCheckpoint(), new PrintStream(new ByteArrayOutputStream()));
    Path merging = MergingExport.dir(r);
    assertTrue(Files.exists(merging.resolve("saved_model.pb")), "merging export at " + merging);
    assertEquals(plain.getParent().getFileName() + "_merging", merging.getParent().getFileName().toString());

    int b = 3;
    Map<String, float[]> p = SavedModelProbe.runInFreshJvm(plain, b, 28, 28, 1, 11);
    assertEquals(Set.of("cls", "avg_pool", "patch_tokens"), p.keySet());
    assertEquals(b * 49 * 32, p.get("patch_tokens").length, "the plain ViT: all 49 patches");

    Map<String, float[]> q = SavedModelProbe.run(merging, b, 28, 28, 1, 11);
    assertEquals(Set.of("cls", "avg_pool", "patch_tokens", "merged_tokens", "token_sizes", "token_slots",
        "patch_owner"), q.keySet());
    int t = 25; // 49 - 2 x 12 survivors besides CLS
    float[] merged = q.get("merged_tokens");
    float[] grid = q.get("patch_tokens");
    float[] owner = q.get("patch_owner");
    float[] slots = q.get("token_slots");
    float[] sizes = q.get("token_sizes");
    assertEquals(b * t * 32, merged.length);
    assertEquals(b * 49 * 32, grid.length, "patch_tokens stays [B, N, D]: the unmerged grid");
    for (int e = 0; e < b; e++) {
      Set<Integer> seen = new HashSet<>();
      float total = 0;
      for (int j = 0; j < t; j++) {
        int slot = (int) slots[e * t + j];
        assertTrue(slot >= 0 && slot < 49 && seen.add(slot));
        assertEquals(j, (int) owner[e * 49 + slot], "a survivor holds its own slot");
        total += sizes[e * t + j];
      }
      assertEquals(49f, total, 0f);
      float[] mean = new float[32];
      for (int pIdx = 0; pIdx < 49; pIdx++) {
        int o = (int) owner[e * 49 + pIdx];
        assertTrue(o >= 0 && o < t);
        for (int c = 0; c < 32; c++) {
          assertEquals(merged[(e * t + o) * 32 + c], grid[(e * 49 + pIdx) * 32 + c], 0f, "unmerged grid");
          mean[c] += grid[(e * 49 + pIdx) * 32 + c] / 49f;
        }
      }
      float[] avg = java.util.Arrays.copyOfRange(q.get("avg_pool"), e * 32, (e + 1) * 32);
      assertArrayEquals(mean, avg, 1e-5f, "avg_pool: the size-weighted mean of the survivors");
    }
  }
}
