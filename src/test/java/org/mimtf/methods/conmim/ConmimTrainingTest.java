package org.mimtf.methods.conmim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.api.MimMethod;
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
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * ConMIM through the trainer on the Fashion-MNIST fixture: a run stopped and resumed reproduces the
 * uninterrupted one — losses, the momentum and the weight cosine of every step, and the final
 * momentum network (its weights are in the checkpoint; its BatchNorm keeps no statistics to lose);
 * the export is the momentum encoder (or the online one when asked), without projector.
 */
class ConmimTrainingTest {
  @TempDir Path dir;

  static PrintStream quiet() {
    return new PrintStream(new ByteArrayOutputStream());
  }

  /** The values of {@code key} on every line of a run's metrics.jsonl. */
  static List<Double> metric(Path runDir, String key) throws Exception {
    List<Double> out = new ArrayList<>();
    for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
      Double v = org.mimtf.util.Json.number(line, key);
      if (v != null) {
        out.add(v);
      }
    }
    return out;
  }

  @Test
  void resumeReproducesTheRunAndTheExportIsTheMomentumEncoder() throws Exception {
    Recipe full = TinyRecipes.conmim(dir.resolve("a"), 4);
    MimMethod fm = MethodRegistry.create(full);
    Trainer.Summary a = new Trainer(full, fm, false, quiet()).run();
    Recipe split = TinyRecipes.conmim(dir.resolve("b"), 4);
    Trainer.Summary first = new Trainer(split, MethodRegistry.create(split), false, quiet()).stopAfter(2).run();
    assertTrue(first.interrupted());
    Trainer.Summary b = new Trainer(split, MethodRegistry.create(split), true, quiet()).run();
    assertEquals(4, b.step());
    for (String key : List.of("loss", "match_acc", "momentum", "weight_cosine")) {
      List<Double> ref = metric(a.runDir(), key);
      List<Double> res = metric(b.runDir(), key);
      assertEquals(4, ref.size(), key);
      assertEquals(4, res.size(), key);
      for (int i = 0; i < 4; i++) {
        assertEquals(ref.get(i), res.get(i), 1e-5 * Math.max(1, Math.abs(ref.get(i))), key + " of step " + (i + 1));
      }
    }
    List<Double> cos = metric(a.runDir(), "weight_cosine");
    assertEquals(1.0, cos.get(0), 1e-6, "identical at the first step");
    assertTrue(cos.get(3) < 1.0, "the online network moved away from its momentum copy");

    // The final momentum and online encoders of both runs, and the exports.
    VitConfig vit = VitConfig.from(full.getModel());
    float[] images = SavedModelProbe.images(3, 28, 28, 1, 5);
    float[] momA = encoderOutput(vit, "momentum/encoder", a.lastCheckpoint(), images);
    float[] momB = encoderOutput(vit, "momentum/encoder", b.lastCheckpoint(), images);
    assertArrayEquals(momA, momB, 1e-5f, "momentum encoder after resuming");
    float[] onlineA = encoderOutput(vit, "encoder", a.lastCheckpoint(), images);
    assertFalse(java.util.Arrays.equals(momA, onlineA), "online and momentum encoders differ after training");

    Path exported = Exports.exportRun(full, fm.encoder(), a.lastCheckpoint(), quiet());
    float[] fromExport = SavedModelProbe.run(exported, 3, 28, 28, 1, 5).get("avg_pool");
    assertArrayEquals(momA, fromExport, 1e-5f, "the export is the momentum encoder");
    Recipe online = TinyRecipes.conmim(dir.resolve("a"), 4, "conmim.export_encoder=ONLINE",
        "export.name=online");
    Path exportedOnline = Exports.exportRun(online, MethodRegistry.create(online).encoder(), a.lastCheckpoint(), quiet());
    assertArrayEquals(onlineA, SavedModelProbe.run(exportedOnline, 3, 28, 28, 1, 5).get("avg_pool"), 1e-5f,
        "conmim.export_encoder: ONLINE exports the online encoder");
    var vars = org.mimtf.export.SavedModelInfo.read(exported).variables().stream().map(v -> v.name()).toList();
    assertTrue(vars.stream().noneMatch(n -> n.contains("projector") || n.contains("mask_token")), vars.toString());
  }

  /** The mean-pooled final-norm tokens of the ViT under {@code scope} restored from a checkpoint. */
  static float[] encoderOutput(VitConfig vit, String scope, Path checkpoint, float[] images) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Ops s = tf;
      for (String part : scope.split("/")) {
        s = s.withSubScope(part);
      }
      VisionTransformer v = VisionTransformer.create(new ParamStore(new Initializers(0)), s, vit, false);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 28, 28, 1)));
      var avg = v.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none()).avgPool(tf);
      try (Session sess = new Session(g)) {
        sess.restore(checkpoint.toString());
        return GraphTesting.run(sess, Map.of(x, images), Map.of(x, new long[] {3, 28, 28, 1}), List.of(avg)).get(0);
      }
    }
  }
}
