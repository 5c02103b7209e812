package org.mimtf.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.mimtf.util.UserException;
import org.tensorflow.Graph;
import org.tensorflow.op.Ops;

class TimmNamesTest {
  static VitConfig beitShared() {
    return TorchFixtureTest.config(ModelConfig.AbsPosEmbedding.ABS_NONE, ModelConfig.RelPosBias.SHARED,
        ModelConfig.QkvBias.QV_BIAS, 0.1f);
  }

  static VitConfig beitPerBlock() {
    return TorchFixtureTest.config(ModelConfig.AbsPosEmbedding.ABS_NONE, ModelConfig.RelPosBias.PER_BLOCK,
        ModelConfig.QkvBias.QV_BIAS, 0.1f);
  }

  static VitConfig vitLearned() {
    return TorchFixtureTest.config(ModelConfig.AbsPosEmbedding.LEARNED, ModelConfig.RelPosBias.REL_NONE,
        ModelConfig.QkvBias.QKV_BIAS, 0f);
  }

  static VitConfig maeSinCosLayerScale() {
    return TorchFixtureTest.config(ModelConfig.AbsPosEmbedding.SINCOS_2D, ModelConfig.RelPosBias.REL_NONE,
        ModelConfig.QkvBias.QKV_BIAS, 0.1f);
  }

  static Map<String, TensorData> random(Map<String, long[]> shapes, long seed) {
    Random r = new Random(seed);
    Map<String, TensorData> m = new LinkedHashMap<>();
    shapes.forEach((k, s) -> {
      float[] v = new float[(int) TensorData.count(s)];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) r.nextGaussian();
      }
      m.put(k, new TensorData(s, v));
    });
    return m;
  }

  @Test
  void expectedNamesAndShapesAreTheGraphsVariables() {
    for (VitConfig c : List.of(beitShared(), beitPerBlock(), vitLearned(), maeSinCosLayerScale())) {
      for (boolean mask : new boolean[] {false, true}) {
        try (Graph g = new Graph()) {
          ParamStore ps = new ParamStore(new Initializers(1));
          VisionTransformer.create(ps, Ops.create(g).withSubScope("encoder"), c, mask);
          Map<String, long[]> want = TimmNames.mimtfShapes(c, mask);
          assertEquals(ps.all().size(), want.size(), c.relPos() + " " + c.absPos());
          for (Param p : ps.all()) {
            String rel = p.name().substring("encoder/".length());
            assertTrue(want.containsKey(rel), "unmapped variable " + p.name());
            assertArrayEquals(p.shape().asArray(), want.get(rel), rel);
          }
        }
      }
    }
  }

  @Test
  void exportThenImportIsTheIdentityOnMimtfVariables() {
    for (VitConfig c : List.of(beitShared(), beitPerBlock(), vitLearned())) {
      Map<String, TensorData> w = random(TimmNames.mimtfShapes(c, true), 3);
      Map<String, TensorData> timm = TimmNames.toTimm(c, TimmNames.flavour(c), w);
      TimmNames.Imported back = TimmNames.fromTimm(c, timm, true);
      assertEquals(w, back.variables(), c.relPos().toString());
      assertEquals(List.of(), back.missing());
      assertEquals(List.of(), back.ignored());
    }
  }

  @Test
  void importThenExportIsTheIdentityOnARandomTimmStateDict() {
    // a timm-named state dict: built from random mimtf values once, then its own values are the reference
    for (VitConfig c : List.of(beitShared(), beitPerBlock(), vitLearned())) {
      Map<String, TensorData> sd = TimmNames.toTimm(c, TimmNames.flavour(c), random(TimmNames.mimtfShapes(c, false),
          5));
      Map<String, TensorData> again = TimmNames.toTimm(c, TimmNames.flavour(c), TimmNames.fromTimm(c, sd, false)
          .variables());
      assertEquals(sd.keySet(), again.keySet());
      sd.forEach((k, v) -> assertEquals(v, again.get(k), k));
    }
  }

  @Test
  void timmNamesOfBothFlavours() {
    Map<String, TensorData> beit = TimmNames.toTimm(beitShared(), TimmNames.Flavour.BEIT,
        random(TimmNames.mimtfShapes(beitShared(), false), 1));
    assertTrue(beit.keySet().containsAll(List.of("cls_token", "patch_embed.proj.weight", "blocks.1.attn.q_bias",
        "blocks.1.attn.v_bias", "blocks.0.gamma_1", "rel_pos_bias.relative_position_bias_table", "norm.weight")));
    assertArrayEquals(new long[] {32, 3, 4, 4}, beit.get("patch_embed.proj.weight").shape());
    assertArrayEquals(new long[] {96, 32}, beit.get("blocks.0.attn.qkv.weight").shape());
    Map<String, TensorData> mae = TimmNames.toTimm(maeSinCosLayerScale(), TimmNames.Flavour.VIT,
        random(TimmNames.mimtfShapes(maeSinCosLayerScale(), false), 1));
    assertTrue(mae.keySet().containsAll(List.of("pos_embed", "blocks.0.attn.qkv.bias", "blocks.0.ls1.gamma",
        "blocks.0.ls2.gamma")));
    assertArrayEquals(new long[] {1, 17, 32}, mae.get("pos_embed").shape());
    // the sin-cos table goes back in as a constant: nothing to load, nothing missing
    TimmNames.Imported imp = TimmNames.fromTimm(maeSinCosLayerScale(), mae, false);
    assertEquals(List.of(), imp.missing());
    assertTrue(imp.used().contains("pos_embed"));
  }

  @Test
  void sharedRelativeBiasGoesIntoEveryBlockOfAPerBlockEncoder() {
    Map<String, TensorData> w = random(TimmNames.mimtfShapes(beitShared(), false), 9);
    Map<String, TensorData> sd = TimmNames.toTimm(beitShared(), TimmNames.Flavour.BEIT, w);
    TimmNames.Imported imp = TimmNames.fromTimm(beitPerBlock(), sd, false);
    assertEquals(List.of(), imp.missing());
    TensorData shared = w.get("rel_pos_bias/relative_position_bias_table");
    assertEquals(shared, imp.variables().get("blocks/0/attn/relative_position_bias_table"));
    assertEquals(shared, imp.variables().get("blocks/1/attn/relative_position_bias_table"));
    // the other way cannot be done
    Map<String, TensorData> perBlock = TimmNames.toTimm(beitPerBlock(), TimmNames.Flavour.BEIT,
        random(TimmNames.mimtfShapes(beitPerBlock(), false), 9));
    UserException e = assertThrows(UserException.class, () -> TimmNames.fromTimm(beitShared(), perBlock, false));
    assertTrue(e.getMessage().contains("set PER_BLOCK"), e.getMessage());
  }

  @Test
  void shapeMismatchNamesTheParameterAndBothShapes() {
    Map<String, TensorData> sd = TimmNames.toTimm(vitLearned(), TimmNames.Flavour.VIT,
        random(TimmNames.mimtfShapes(vitLearned(), false), 2));
    sd.put("blocks.1.mlp.fc1.weight", TensorData.zeros(48, 32));
    UserException e = assertThrows(UserException.class, () -> TimmNames.fromTimm(vitLearned(), sd, false));
    assertEquals("shape mismatch for blocks.1.mlp.fc1.weight: the checkpoint has [48, 32], the recipe's encoder "
        + "expects [64, 32]", e.getMessage());
    Map<String, TensorData> deeper = new LinkedHashMap<>(sd);
    deeper.put("blocks.2.norm1.weight", TensorData.zeros(32));
    e = assertThrows(UserException.class, () -> TimmNames.fromTimm(vitLearned(), deeper, false));
    assertTrue(e.getMessage().contains("model.depth = 2"), e.getMessage());
  }

  @Test
  void learnedPositionsAreResizedAndSinCosMustBeSinCos() {
    VitConfig small = vitLearned();
    Map<String, TensorData> sd = TimmNames.toTimm(small, TimmNames.Flavour.VIT,
        random(TimmNames.mimtfShapes(small, false), 4));
    VitConfig bigger = new VitConfig(32, 2, 2, 64, 24, 4, 3, ModelConfig.AbsPosEmbedding.LEARNED,
        ModelConfig.RelPosBias.REL_NONE, ModelConfig.QkvBias.QKV_BIAS, 0f, 0f, 1e-6f, ModelConfig.Init.BEIT, null,
        null, 7);
    TimmNames.Imported imp = TimmNames.fromTimm(bigger, sd, false);
    assertArrayEquals(new long[] {37, 32}, imp.variables().get("pos_embed").shape());
    assertTrue(imp.notes().stream().anyMatch(n -> n.contains("resized from a 4x4 to a 6x6")), imp.notes().toString());
    UserException e = assertThrows(UserException.class, () -> TimmNames.fromTimm(maeSinCosLayerScale(), sd, false));
    assertTrue(e.getMessage().contains("abs_pos_embedding = LEARNED"), e.getMessage());
  }
}
