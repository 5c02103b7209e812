package org.mimtf.teachers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.api.EncoderSpec;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.TeacherConfig;
import org.mimtf.export.EncoderExporter;
import org.mimtf.nn.VitConfig;
import org.mimtf.testing.SavedModelProbe;
import org.mimtf.util.UserException;

class SavedModelTeacherTest {
  @TempDir static Path dir;
  static Path model;

  @BeforeAll
  static void export() {
    VitConfig cfg = new VitConfig(16, 1, 2, 32, 8, 4, 1, ModelConfig.AbsPosEmbedding.SINCOS_2D,
        ModelConfig.RelPosBias.REL_NONE, ModelConfig.QkvBias.QKV_BIAS, 0f, 0f, 1e-6f, ModelConfig.Init.MAE, null,
        null, 3);
    model = dir.resolve("teacher/1");
    EncoderExporter.export(new EncoderSpec(cfg, "encoder"), null, model, Map.of());
  }

  private static TeacherConfig.Builder cfg() {
    return TeacherConfig.newBuilder().setSavedModelDir(model.toString());
  }

  private static String fails(TeacherConfig c, int size, int channels, int patches, boolean ids) {
    return assertThrows(UserException.class,
        () -> SavedModelTeacher.load(c, "smr.teacher", size, channels, patches, ids)).getMessage();
  }

  @Test
  void aMatchingTeacherGivesItsPatchTokens() {
    try (SavedModelTeacher t = SavedModelTeacher.load(cfg().build(), "smr.teacher", 8, 1, 4, false)) {
      assertEquals(16, t.dim());
      float[] img = SavedModelProbe.images(2, 8, 8, 1, 1);
      float[] f = t.features(img, 2, 8, 1);
      assertEquals(2 * 4 * 16, f.length);
      assertArrayEquals(SavedModelProbe.run(model, 2, 8, 8, 1, 1).get("patch_tokens"), f, 1e-6f);
    }
  }

  @Test
  void aBf16RunGetsItsTeacherInBf16AndAnFp32RunInFp32() {
    org.junit.jupiter.api.Assumptions.assumeTrue(org.mimtf.train.CpuFeatures.nativeBf16(),
        "grappler's oneDNN bf16 rewrite runs only where the CPU has native bf16");
    float[] img = SavedModelProbe.images(4, 8, 8, 1, 7);
    float[] exact = SavedModelProbe.run(model, 4, 8, 8, 1, 7).get("patch_tokens");
    org.mimtf.config.proto.TrainingConfig.Builder t = org.mimtf.config.proto.TrainingConfig.newBuilder();
    try (SavedModelTeacher fp32 = SavedModelTeacher.load(cfg().build(), "smr.teacher", 8, 1, 4, false,
        org.mimtf.train.SessionConfigs.frozenModel(t.build()))) {
      assertArrayEquals(exact, fp32.features(img, 4, 8, 1), 1e-6f);
    }
    t.setPrecision(org.mimtf.config.proto.TrainingConfig.Precision.BF16);
    try (SavedModelTeacher bf16 = SavedModelTeacher.load(cfg().build(), "smr.teacher", 8, 1, 4, false,
        org.mimtf.train.SessionConfigs.frozenModel(t.build()))) {
      float[] f = bf16.features(img, 4, 8, 1);
      // bf16 keeps 8 mantissa bits (relative rounding 2^-9 per product input); the LayerNormed tokens are O(1)
      double maxDiff = 0;
      for (int i = 0; i < f.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(f[i] - exact[i]));
      }
      assertTrue(maxDiff > 0, "the bf16 rewrite changed nothing: the teacher ran in fp32");
      assertTrue(maxDiff < 0.1, "bf16 teacher too far from fp32: " + maxDiff);
    }
  }

  @Test
  void signatureMismatchesAreReportedWithTheFieldAndTheExpectation() {
    assertTrue(fails(cfg().setOutputKey("features").build(), 8, 1, 4, false)
        .contains("smr.teacher (" + model + "): signature 'serving_default' has no output 'features' (outputs: "
            + "[avg_pool, cls, patch_tokens]); set smr.teacher.output_key"));
    assertTrue(fails(cfg().build(), 8, 1, 9, false).contains("has 4 patches per image but the student's grid has 9"));
    assertTrue(fails(cfg().build(), 16, 1, 4, false).contains("but the student sees (batch, 16, 16, 1) images"));
    assertTrue(fails(cfg().setOutputKey("cls").build(), 8, 1, 4, false)
        .contains("expected per-patch features (batch, 4, D)"));
    assertTrue(fails(cfg().build(), 8, 1, 4, true).contains("expected token ids"));
    assertTrue(fails(cfg().setSignature("predict").build(), 8, 1, 4, false)
        .contains("no signature 'predict' (has [serving_default])"));
    assertTrue(fails(cfg().setSavedModelDir(dir.resolve("nope").toString()).build(), 8, 1, 4, false)
        .startsWith("smr.teacher.saved_model_dir: "));
  }
}
