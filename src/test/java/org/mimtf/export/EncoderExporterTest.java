package org.mimtf.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.api.EncoderSpec;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.nn.Compute;
import org.mimtf.nn.GraphTesting;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.testing.SavedModelProbe;
import org.mimtf.train.Checkpoints;
import org.mimtf.util.UserException;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

class EncoderExporterTest {
  @TempDir Path dir;

  static VitConfig cfg() {
    return new VitConfig(16, 2, 2, 32, 8, 4, 1, ModelConfig.AbsPosEmbedding.ABS_NONE, ModelConfig.RelPosBias.SHARED,
        ModelConfig.QkvBias.QV_BIAS, 0.1f, 0.2f, 1e-6f, ModelConfig.Init.BEIT, new float[] {0.3f},
        new float[] {0.4f}, 9);
  }

  /**
   * Trains nothing but perturbs every weight (so a checkpoint differs from the init), checkpoints it
   * under {@code scope}, exports it, and loads the export in a fresh JVM: the outputs equal the
   * training-time encoder's.
   */
  @Test
  void exportedEncoderGivesTheTrainingTimeOutputsInAFreshJvm() throws Exception {
    String scope = "momentum/encoder";
    float[] images = SavedModelProbe.images(3, 8, 8, 1, 42);
    float[] cls;
    float[] avg;
    float[] patches;
    Path prefix;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("momentum").withSubScope("encoder"), cfg(),
          true);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 8, 8, 1)));
      var out = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none());
      List<org.tensorflow.op.Op> bumps = new java.util.ArrayList<>();
      for (Param p : ps.all()) {
        bumps.add(tf.assignAdd(p.variable(), tf.math.mul(tf.onesLike(p.read()), tf.constant(0.01f))));
      }
      var bump = tf.withControlDependencies(bumps).noOp();
      try (Session s = new Session(g)) {
        s.initialize();
        s.runner().addTarget(bump).run();
        var r = GraphTesting.run(s, Map.of(x, images), Map.of(x, new long[] {3, 8, 8, 1}),
            List.of(out.cls(tf), out.avgPool(tf), out.patchTokens(tf)));
        cls = r.get(0);
        avg = r.get(1);
        patches = r.get(2);
        prefix = new Checkpoints(dir.resolve("ckpt"), 1).save(s, 7);
      }
    }
    Path export = dir.resolve("export/enc/1");
    EncoderExporter.export(new EncoderSpec(cfg(), scope), prefix, export, Map.of("provenance.json", "{}"));
    assertTrue(Files.exists(export.resolve("saved_model.pb")));
    assertTrue(Files.exists(export.resolve("variables/variables.index")));
    assertTrue(Files.exists(export.resolve("assets.extra/provenance.json")));

    Map<String, float[]> fresh = SavedModelProbe.runInFreshJvm(export, 3, 8, 8, 1, 42);
    assertEquals(List.of("avg_pool", "cls", "patch_tokens"), List.copyOf(fresh.keySet()));
    assertArrayEquals(cls, fresh.get("cls"), 1e-5f);
    assertArrayEquals(avg, fresh.get("avg_pool"), 1e-5f);
    assertArrayEquals(patches, fresh.get("patch_tokens"), 1e-5f);

    // only the encoder's variables, under clean names: no mask token, no optimizer state
    var info = SavedModelInfo.read(export);
    List<String> vars = info.variables().stream().map(v -> v.name()).toList();
    assertTrue(vars.stream().allMatch(n -> n.startsWith("encoder/")), vars.toString());
    assertTrue(vars.stream().noneMatch(n -> n.contains("mask_token")), vars.toString());
  }

  @Test
  void exportingIntoANonEmptyFolderIsRefused() throws Exception {
    Path d = dir.resolve("x/1");
    Files.createDirectories(d);
    Files.writeString(d.resolve("keep.txt"), "mine");
    UserException e = assertThrows(UserException.class,
        () -> EncoderExporter.export(new EncoderSpec(cfg(), "encoder"), null, d, Map.of()));
    assertTrue(e.getMessage().contains("not empty"), e.getMessage());
  }
}
