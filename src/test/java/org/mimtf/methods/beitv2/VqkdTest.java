package org.mimtf.methods.beitv2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.api.EncoderSpec;
import org.mimtf.api.StepInputs;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.export.EncoderExporter;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VitConfig;
import org.mimtf.testing.SavedModelProbe;
import org.mimtf.testing.TinyRecipes;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

class VqkdTest {
  @TempDir Path dir;

  Recipe tiny(String... extra) {
    List<String> o = new java.util.ArrayList<>(List.of("beitv2.tokenizer.encoder.width=32",
        "beitv2.tokenizer.encoder.depth=2", "beitv2.tokenizer.encoder.num_heads=2",
        "beitv2.tokenizer.codebook_size=32", "beitv2.tokenizer.codebook_dim=8",
        "beitv2.tokenizer.training.batch_size=16", "beitv2.tokenizer.training.steps=4",
        "beitv2.tokenizer.training.log_every_steps=1", "beitv2.tokenizer.schedule.warmup_steps=1",
        "beitv2.tokenizer.teacher.saved_model_dir=" + dir.resolve("teacher/1"),
        "beitv2.tokenizer.dir=" + dir.resolve("tok"), "training.run_dir=" + dir.resolve("run")));
    o.addAll(List.of(extra));
    return RecipeLoader.load(TinyRecipes.repoRoot().resolve("graphs/beitv2_fmnist_small.pbtxt"), o);
  }

  private void teacher() {
    VitConfig cfg = new VitConfig(24, 1, 2, 48, 28, 4, 1, ModelConfig.AbsPosEmbedding.SINCOS_2D,
        ModelConfig.RelPosBias.REL_NONE, ModelConfig.QkvBias.QKV_BIAS, 0f, 0f, 1e-6f, ModelConfig.Init.MAE,
        new float[] {0.3f}, new float[] {0.35f}, 3);
    EncoderExporter.export(new EncoderSpec(cfg, "encoder"), null, dir.resolve("teacher/1"), Map.of());
  }

  @Test
  void straightThroughGradientReachesTheEncoderFromTheReconstructionLoss() {
    Recipe r = tiny();
    VqkdMethod m = new VqkdMethod(r.getBeitv2().getTokenizer(), null, 24, "image");
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      m.create(tf, ps);
      Placeholder<TFloat32> img = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(2, 28, 28, 1)));
      Placeholder<TFloat32> target = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(2, 49, 24)));
      StepInputs step = new StepInputs(tf.constant(0L), tf.constant(new long[] {0, 0}), Map.of(), false);
      TowerOutput out = m.tower(tf, Compute.fp32(), new TowerInputs(Map.of("image", img, "teacher_features", target),
          step, 0));
      var warm = m.warmStart(tf, Compute.fp32(), new TowerInputs(Map.of("image", img, "teacher_features", target),
          step, 0));
      // Only the reconstruction term: its path to the encoder is the straight-through estimator.
      var p = ps.get("tokenizer/encoder/patch_embed/proj/kernel");
      var grads = tf.gradients(out.lossTerms().get("rec_cosine"), List.of(p.read()));
      @SuppressWarnings("unchecked")
      Operand<TFloat32> gp = (Operand<TFloat32>) (Operand<?>) grads.dy(0);
      Operand<TFloat32> size = tf.sum(tf.math.abs(gp), tf.constant(new int[] {0, 1}));
      try (Session s = new Session(g);
          TFloat32 i = TFloat32.tensorOf(Shape.of(2, 28, 28, 1), DataBuffers.of(SavedModelProbe.images(2, 28, 28, 1, 5),
              true, false));
          TFloat32 t = TFloat32.tensorOf(Shape.of(2, 49, 24), DataBuffers.of(SavedModelProbe.images(2, 49, 24, 1, 6),
              true, false))) {
        s.initialize();
        s.runner().feed(img, i).feed(target, t).addTarget(warm).run();
        try (var res = s.runner().feed(img, i).feed(target, t).fetch(size).run()) {
          assertTrue(((TFloat32) res.get(0)).getFloat() > 0, "no gradient reached the encoder");
        }
      }
    }
  }

  @Test
  void tokenizerStageTrainsExportsAndTheSavedModelGivesTheSameIdsInAFreshJvm() throws Exception {
    teacher();
    Recipe r = tiny();
    VqkdTokenizer.Built b = VqkdTokenizer.train(r, false, new PrintStream(new ByteArrayOutputStream()));
    assertEquals(4, b.run().step());
    assertTrue(Files.exists(b.savedModel().resolve("saved_model.pb")));
    Map<String, float[]> here = SavedModelProbe.run(b.savedModel(), 3, 28, 28, 1, 9);
    Map<String, float[]> fresh = SavedModelProbe.runInFreshJvm(b.savedModel(), 3, 28, 28, 1, 9);
    assertArrayEquals(here.get("token_ids"), fresh.get("token_ids"));
    assertEquals(3 * 49, fresh.get("token_ids").length);
    for (float id : fresh.get("token_ids")) {
      assertTrue(id >= 0 && id < 32 && id == Math.rint(id), "id " + id);
    }
    // the codes are unit vectors of the trained codebook
    float[] codes = fresh.get("codes");
    for (int i = 0; i < 3 * 49; i++) {
      double n = 0;
      for (int j = 0; j < 8; j++) {
        n += codes[i * 8 + j] * codes[i * 8 + j];
      }
      assertEquals(1.0, n, 1e-4);
    }
  }
}
