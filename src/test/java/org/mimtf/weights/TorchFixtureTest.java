package org.mimtf.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.util.Npy;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * The PyTorch fixture ({@code test-data/torch-vit/make_fixture.py}, run with Debian's python3-torch):
 * weights of a BEiT-style and a plain timm-style ViT imported through {@link StateDicts} and
 * {@link TimmNames} give, in mimtf's VisionTransformer, PyTorch's CLS and patch tokens to 1e-4.
 */
class TorchFixtureTest {
  static final Path DIR = Path.of("test-data/torch-vit");

  /** The fixture's ViT: 16x16x3 images, patch 4, width 32, depth 2, 2 heads, MLP 64, identity input. */
  static VitConfig config(ModelConfig.AbsPosEmbedding abs, ModelConfig.RelPosBias rel, ModelConfig.QkvBias qkv,
      float layerScale) {
    return new VitConfig(32, 2, 2, 64, 16, 4, 3, abs, rel, qkv, layerScale, 0f, 1e-6f, ModelConfig.Init.BEIT, null,
        null, 7);
  }

  /** Runs mimtf's encoder with {@code weights} (relative names) on NHWC {@code images}: [normed tokens]. */
  static float[][] forward(VitConfig cfg, Map<String, TensorData> weights, Npy.Array images) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(cfg.initSeed()));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), cfg, false);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class);
      VisionTransformer.Output out = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none());
      Operand<TFloat32> cls = out.cls(tf);
      Operand<TFloat32> patches = out.patchTokens(tf);
      List<Op> assigns = EncoderWeights.assignOps(tf, ps.all(), "encoder", weights);
      assertEquals(ps.all().size(), assigns.size(), "every encoder variable gets an imported value");
      try (Session s = new Session(g);
          TFloat32 in = TFloat32.tensorOf(Shape.of(images.shape()), DataBuffers.of(images.data(), true, false))) {
        s.initialize();
        Session.Runner r = s.runner();
        assigns.forEach(r::addTarget);
        r.run();
        try (Result res = s.runner().feed(x, in).fetch(cls).fetch(patches).run()) {
          float[] c = new float[(int) res.get(0).shape().size()];
          float[] p = new float[(int) res.get(1).shape().size()];
          ((TFloat32) res.get(0)).asRawTensor().data().asFloats().read(c);
          ((TFloat32) res.get(1)).asRawTensor().data().asFloats().read(p);
          return new float[][] {c, p};
        }
      }
    }
  }

  static void assertClose(float[] expected, float[] actual, double tol, String what) {
    assertEquals(expected.length, actual.length, what + " length");
    double max = 0;
    for (int i = 0; i < expected.length; i++) {
      max = Math.max(max, Math.abs(expected[i] - actual[i]));
    }
    assertTrue(max < tol, what + ": max |mimtf - PyTorch| = " + max);
  }

  @Test
  void beitFlavourSafetensorsMatchesPyTorch() {
    StateDicts.StateDict sd = StateDicts.read(DIR.resolve("beit.safetensors"), null);
    VitConfig cfg = config(ModelConfig.AbsPosEmbedding.ABS_NONE, ModelConfig.RelPosBias.PER_BLOCK,
        ModelConfig.QkvBias.QV_BIAS, 0.1f);
    TimmNames.Imported imp = TimmNames.fromTimm(cfg, sd.tensors(), false);
    assertEquals(List.of(), imp.missing());
    assertEquals(List.of("head.weight", "head.bias"), imp.ignored());
    float[][] out = forward(cfg, imp.variables(), Npy.read(DIR.resolve("images.npy")));
    assertClose(Npy.read(DIR.resolve("beit_cls.npy")).data(), out[0], 1e-4, "beit CLS");
    assertClose(Npy.read(DIR.resolve("beit_patch_tokens.npy")).data(), out[1], 1e-4, "beit patch tokens");
  }

  @Test
  void plainFlavourPthCheckpointMatchesPyTorch() {
    StateDicts.StateDict sd = StateDicts.read(DIR.resolve("vit.pth"), null);
    assertEquals("model", sd.wrapper());
    assertEquals(List.of("module."), sd.strippedPrefixes());
    VitConfig cfg = config(ModelConfig.AbsPosEmbedding.LEARNED, ModelConfig.RelPosBias.REL_NONE,
        ModelConfig.QkvBias.QKV_BIAS, 0f);
    TimmNames.Imported imp = TimmNames.fromTimm(cfg, sd.tensors(), false);
    assertEquals(List.of(), imp.missing());
    assertEquals(List.of("decoder_pred.weight"), imp.ignored());
    float[][] out = forward(cfg, imp.variables(), Npy.read(DIR.resolve("images.npy")));
    assertClose(Npy.read(DIR.resolve("vit_cls.npy")).data(), out[0], 1e-4, "vit CLS");
    assertClose(Npy.read(DIR.resolve("vit_patch_tokens.npy")).data(), out[1], 1e-4, "vit patch tokens");
  }

  @Test
  void qkvBiasIntoQvBiasRecipeAndMissingLayerScaleKeepTheFunction() {
    // The plain checkpoint loaded into a BEiT-style recipe (q/v biases, layer scale): the key bias is
    // dropped (it cancels in the softmax) and γ = 1, so the outputs are PyTorch's still.
    StateDicts.StateDict sd = StateDicts.read(DIR.resolve("vit.pth"), null);
    VitConfig cfg = config(ModelConfig.AbsPosEmbedding.LEARNED, ModelConfig.RelPosBias.REL_NONE,
        ModelConfig.QkvBias.QV_BIAS, 0.1f);
    TimmNames.Imported imp = TimmNames.fromTimm(cfg, sd.tensors(), false);
    assertEquals(List.of(), imp.missing());
    assertTrue(imp.notes().stream().anyMatch(n -> n.contains("key biases dropped")), imp.notes().toString());
    float[][] out = forward(cfg, imp.variables(), Npy.read(DIR.resolve("images.npy")));
    assertClose(Npy.read(DIR.resolve("vit_cls.npy")).data(), out[0], 1e-4, "vit CLS via q/v biases");
    assertClose(Npy.read(DIR.resolve("vit_patch_tokens.npy")).data(), out[1], 1e-4, "vit patches via q/v biases");
  }

  @Test
  void positionResizeMatchesTorchAntialiasedBicubic() {
    TensorData table = fromNpy(Npy.read(DIR.resolve("pos_4x4.npy")));
    for (int n : new int[] {6, 3}) {
      TensorData expected = fromNpy(Npy.read(DIR.resolve("pos_" + n + "x" + n + ".npy")));
      TensorData got = PositionResize.resize(table, 1, 4, 4, n, n);
      assertArrayEquals(expected.shape(), got.shape());
      assertTrue(got.maxAbsDiff(expected) < 1e-5, n + "x" + n + ": " + got.maxAbsDiff(expected));
    }
  }

  static TensorData fromNpy(Npy.Array a) {
    return new TensorData(a.shape(), a.data());
  }
}
