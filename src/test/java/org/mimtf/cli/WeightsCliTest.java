package org.mimtf.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.TextFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.config.proto.Recipe;
import org.mimtf.api.EncoderSpec;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.train.Checkpoints;
import org.mimtf.util.Npy;
import org.mimtf.weights.EncoderWeights;
import org.mimtf.weights.TensorData;

/**
 * {@code weights export}, {@code weights import}, {@code features} and {@code pretrain --init-from}
 * on a tiny ConMIM run (BEiT-style encoder with a shared relative bias, whose exported encoder is the
 * momentum one): export ∘ import gives back the checkpoint's encoder exactly, the imported SavedModel
 * computes what the run's own export computes, and a new run starts from the imported weights.
 */
class WeightsCliTest {
  @TempDir Path dir;

  @Test
  void exportImportFeaturesAndInitFromOnATinyRun() throws Exception {
    Recipe r = TinyRecipes.conmim(dir, 2);
    Path recipe = dir.resolve("tiny.pbtxt");
    Files.writeString(recipe, TextFormat.printer().printToString(r));
    CliTest.Run pre = CliTest.run("pretrain", "--recipe", recipe.toString());
    assertEquals(0, pre.code(), pre.err());
    Path ckpt = new Checkpoints(Path.of(r.getTraining().getRunDir()).resolve("checkpoints"), 1).latest().orElseThrow();

    Path st = dir.resolve("out/enc.safetensors");
    CliTest.Run ex = CliTest.run("weights", "export", "--recipe", recipe.toString(), "--to", st.toString());
    assertEquals(0, ex.code(), ex.err());
    CliTest.assertField(ex.lastLine(), "flavour", "\"beit\"");
    CliTest.assertField(ex.lastLine(), "encoder_scope", "\"momentum/encoder\"");

    Path whole = dir.resolve("out/student.safetensors");
    CliTest.Run ws = CliTest.run("weights", "export", "--recipe", recipe.toString(), "--to", whole.toString(),
        "--whole-student");
    assertEquals(0, ws.code(), ws.err());
    CliTest.assertField(ws.lastLine(), "encoder_scope", "\"encoder\"");
    Map<String, TensorData> student = org.mimtf.weights.Safetensors.read(whole).tensors();
    assertTrue(student.containsKey("mask_token") && student.containsKey("blocks.1.attn.q_bias"), student.keySet()
        .toString());
    assertTrue(student.keySet().stream().anyMatch(k -> k.startsWith("projector.") || k.contains("head")),
        "heads of the student: " + student.keySet());
    assertTrue(student.keySet().stream().noneMatch(k -> k.startsWith("optimizer.") || k.startsWith("momentum.")),
        student.keySet().toString());

    Path imp = dir.resolve("imp");
    CliTest.Run im = CliTest.run("weights", "import", "--recipe", recipe.toString(), "--from", st.toString(), "--out",
        imp.toString());
    assertEquals(0, im.code(), im.err());
    CliTest.assertJsonObject(im.lastLine());
    CliTest.assertField(im.lastLine(), "missing", "[]");
    CliTest.assertField(im.lastLine(), "ignored", "[]");

    EncoderSpec spec = MethodRegistry.encoderSpec(r);
    Map<String, TensorData> original = EncoderWeights.readEncoder(spec.config(), spec.scope(), ckpt);
    Map<String, TensorData> back = EncoderWeights.readEncoder(spec.config(), "encoder",
        imp.resolve("checkpoints/ckpt-0"));
    assertEquals(original.keySet(), back.keySet());
    original.forEach((k, v) -> assertEquals(v, back.get(k), k));

    // the imported SavedModel and the run's own export compute the same features
    Path images = dir.resolve("x.npy");
    float[] px = new float[3 * 28 * 28];
    for (int i = 0; i < px.length; i++) {
      px[i] = (i * 37 % 101) / 100f;
    }
    Npy.write(images, px, 3, 28, 28, 1);
    Path runExport = dir.resolve("runexport");
    assertEquals(0, CliTest.run("export", "--recipe", recipe.toString(), "--out", runExport.toString()).code());
    CliTest.Run fa = CliTest.run("features", "--saved-model", imp.resolve("saved_model").toString(), "--input",
        images.toString(), "--out", dir.resolve("fa/").toString() + "/");
    assertEquals(0, fa.code(), fa.err());
    CliTest.assertField(fa.lastLine(), "shape", "[3,49,32]");
    CliTest.Run fb = CliTest.run("features", "--saved-model", runExport.toString(), "--input", images.toString(),
        "--out", dir.resolve("fb_").toString());
    assertEquals(0, fb.code(), fb.err());
    for (String o : new String[] {"cls", "avg_pool", "patch_tokens"}) {
      float[] a = Npy.read(dir.resolve("fa/" + o + ".npy")).data();
      float[] b = Npy.read(dir.resolve("fb_" + o + ".npy")).data();
      assertEquals(a.length, b.length);
      for (int i = 0; i < a.length; i++) {
        assertEquals(b[i], a[i], 1e-6, o + "[" + i + "]");
      }
    }

    // a fresh run from the imported encoder: online and momentum encoders both loaded from encoder/
    CliTest.Run init = CliTest.run("pretrain", "--recipe", recipe.toString(), "--set", "training.run_dir="
        + dir.resolve("run2"), "--set", "training.steps=1", "--no-export", "--init-from",
        imp.resolve("checkpoints/ckpt-0").toString());
    assertEquals(0, init.code(), init.err());
    int vars = back.size();
    assertTrue(init.out().contains("initialised from " + imp.resolve("checkpoints/ckpt-0") + ": " + vars
        + " variables, " + vars + " copies of encoder/"), init.out());
  }

  @Test
  void badFilesAndMismatchedEncodersFailWithOneLine() throws Exception {
    Recipe r = TinyRecipes.conmim(dir, 2);
    Path recipe = dir.resolve("tiny.pbtxt");
    Files.writeString(recipe, TextFormat.printer().printToString(r));
    Path text = dir.resolve("notes.safetensors");
    Files.writeString(text, "not weights at all, only some words in a file");
    CliTest.Run bad = CliTest.run("weights", "import", "--recipe", recipe.toString(), "--from", text.toString());
    assertEquals(2, bad.code());
    assertTrue(bad.err().startsWith("mimtf: " + text + ": not a safetensors file"), bad.err());
    // the 16x16x3 BEiT fixture does not fit the 28x28x1 recipe: the parameter and both shapes
    CliTest.Run mismatch = CliTest.run("weights", "import", "--recipe", recipe.toString(), "--from",
        "test-data/torch-vit/beit.safetensors", "--out", dir.resolve("x").toString());
    assertEquals(2, mismatch.code());
    assertTrue(mismatch.err().contains("shape mismatch for patch_embed.proj.weight: the checkpoint has [32, 3, 4, 4], "
        + "the recipe's encoder expects [32, 1, 4, 4]"), mismatch.err());
  }
}
