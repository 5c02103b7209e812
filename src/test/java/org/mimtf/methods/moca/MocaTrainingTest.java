package org.mimtf.methods.moca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.Recipe;
import org.mimtf.export.Exports;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.nn.Compute;
import org.mimtf.nn.GraphTesting;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.testing.SavedModelProbe;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.train.Trainer;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * MOCA through the trainer: an interrupted and resumed run ends exactly where an uninterrupted one
 * does, codebook queue and temperature statistics included; the export is the EMA teacher.
 */
class MocaTrainingTest {
  static final PrintStream QUIET = new PrintStream(new ByteArrayOutputStream());

  /** MOCA's per-step state in a checkpoint, restored into a small graph that holds only those variables. */
  static Map<String, float[]> state(Path checkpoint, Recipe r) {
    int k = r.getMoca().getNumWords();
    int d = r.getModel().getWidth();
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Map<String, Operand<?>> vars = new LinkedHashMap<>();
      Ops cb = tf.withSubScope("codebook");
      vars.put("codebook/words", cb.withName("words").variable(Shape.of(k, d), TFloat32.class));
      vars.put("codebook/mu", cb.withName("mu").variable(Shape.scalar(), TFloat32.class));
      vars.put("codebook/mu_prev", cb.withName("mu_prev").variable(Shape.scalar(), TFloat32.class));
      vars.put("codebook/ptr", cb.withName("ptr").variable(Shape.scalar(), TInt32.class));
      vars.put("codebook/words_written", cb.withName("words_written").variable(Shape.scalar(), TInt64.class));
      vars.put("teacher/ema_step", tf.withSubScope("teacher").withName("ema_step").variable(Shape.scalar(),
          TInt64.class));
      s.restore(checkpoint.toString());
      Map<String, float[]> out = new LinkedHashMap<>();
      for (var e : vars.entrySet()) {
        try (var res = s.runner().fetch(e.getValue()).run()) {
          out.put(e.getKey(), MocaHarness.floats(res.get(0)));
        }
      }
      return out;
    }
  }

  @Test
  void aResumedRunRestoresTheQueueAndTheTemperatureStatisticsExactly(@TempDir Path dir) throws Exception {
    Recipe full = TinyRecipes.moca(dir.resolve("a"), 4, "moca.num_words=8");
    Trainer.Summary a = new Trainer(full, MethodRegistry.create(full), false, QUIET).run();
    Recipe part = TinyRecipes.moca(dir.resolve("b"), 4, "moca.num_words=8");
    new Trainer(part, MethodRegistry.create(part), false, QUIET).stopAfter(2).run();
    Map<String, float[]> mid = state(dir.resolve("b/run/checkpoints/ckpt-2"), part);
    assertEquals(0f, mid.get("codebook/ptr")[0], "after 2 steps of 4 words, ptr wrapped to 0 (K = 8)");
    assertEquals(8f, mid.get("codebook/words_written")[0]);
    assertEquals(1f, mid.get("teacher/ema_step")[0], "the EMA was last applied for step 1");
    Trainer.Summary b = new Trainer(part, MethodRegistry.create(part), true, QUIET).run();
    assertEquals(4, b.step());
    List<Double> la = TinyRecipes.losses(a.runDir());
    List<Double> lb = TinyRecipes.losses(b.runDir());
    assertEquals(la.size(), lb.size());
    for (int i = 0; i < la.size(); i++) {
      assertEquals(la.get(i), lb.get(i), 1e-5 * Math.abs(la.get(i)), "loss of logged step " + i);
    }
    Map<String, float[]> sa = state(a.lastCheckpoint(), full);
    Map<String, float[]> sb = state(b.lastCheckpoint(), part);
    for (String name : sa.keySet()) {
      assertArrayEquals(sa.get(name), sb.get(name), 1e-6f, name + " after 4 steps, resumed vs uninterrupted");
    }
    assertEquals(0f, sa.get("codebook/ptr")[0]);
    assertEquals(3f, sa.get("teacher/ema_step")[0]);
    assertEquals(sa.get("codebook/mu")[0], sa.get("codebook/mu_prev")[0]);
    assertTrue(Math.abs(sa.get("codebook/mu")[0] - 0.5f) > 1e-4, "μ moved from its initial 0.5");
  }

  @Test
  void theExportIsTheEmaTeacherAndLoadsInAFreshJvm(@TempDir Path dir) throws Exception {
    Recipe r = TinyRecipes.moca(dir, 3);
    var m = MethodRegistry.create(r);
    Trainer.Summary s = new Trainer(r, m, false, QUIET).run();
    assertEquals("teacher/encoder", m.encoder().scope());
    Path export = Exports.exportRun(r, m.encoder(), s.lastCheckpoint(), QUIET);
    Map<String, float[]> got = SavedModelProbe.runInFreshJvm(export, 2, 28, 28, 1, 11);
    float[] images = SavedModelProbe.images(2, 28, 28, 1, 11);
    VitConfig vit = VitConfig.from(r.getModel());
    // The reference: the checkpoint's teacher and student, rebuilt and restored in this JVM.
    try (Graph g = new Graph(); Session sess = new Session(g)) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer teacher = VisionTransformer.create(ps, tf.withSubScope("teacher").withSubScope("encoder"), vit,
          false);
      VisionTransformer student = VisionTransformer.create(ps, tf.withSubScope("encoder"), vit, false);
      sess.restore(s.lastCheckpoint().toString());
      Operand<TFloat32> x = tf.reshape(tf.constant(images), tf.constant(new int[] {2, 28, 28, 1}));
      float[] t = GraphTesting.read(sess, teacher.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none())
          .avgPool(tf));
      float[] st = GraphTesting.read(sess, student.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none())
          .avgPool(tf));
      assertArrayEquals(t, got.get("avg_pool"), 1e-5f, "the exported encoder is the teacher");
      assertTrue(MocaMethodTest.maxDiff(st, got.get("avg_pool")) > 1e-4, "not the student");
      assertEquals(2 * vit.numPatches() * vit.width(), got.get("patch_tokens").length);
    }
    // No decoder, generator or codebook variables in the export.
    List<String> names = org.mimtf.export.SavedModelInfo.read(export).variables().stream()
        .map(org.mimtf.export.CheckpointIndex.Entry::name).toList();
    assertTrue(names.contains("encoder/blocks/0/attn/qkv/kernel"), names.toString());
    for (String n : names) {
      assertTrue(n.startsWith("encoder/"), "only the encoder is exported: " + n);
    }
  }
}
