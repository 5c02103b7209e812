package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.ModelConfig;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

class VisionTransformerTest {
  static VitConfig small(ModelConfig.AbsPosEmbedding abs, ModelConfig.RelPosBias rel, float dropPath) {
    return new VitConfig(16, 2, 2, 32, 8, 4, 1, abs, rel, ModelConfig.QkvBias.QV_BIAS, 0.1f, dropPath, 1e-6f,
        ModelConfig.Init.BEIT, new float[] {0.5f}, new float[] {0.25f}, 11);
  }

  static float[] images(int b, int size, long seed) {
    Random r = new Random(seed);
    float[] a = new float[b * size * size];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextFloat();
    }
    return a;
  }

  @Test
  void variableNamesFollowTheModuleTree() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer.create(ps, tf.withSubScope("encoder"), small(ModelConfig.AbsPosEmbedding.ABS_NONE,
          ModelConfig.RelPosBias.SHARED, 0f), true);
      List<String> names = ps.all().stream().map(Param::name).toList();
      assertTrue(names.contains("encoder/patch_embed/proj/kernel"), names.toString());
      assertTrue(names.contains("encoder/blocks/1/attn/qkv/kernel"));
      assertTrue(names.contains("encoder/blocks/1/attn/q_bias"));
      assertTrue(names.contains("encoder/blocks/0/mlp/fc2/bias"));
      assertTrue(names.contains("encoder/blocks/0/gamma_1"));
      assertTrue(names.contains("encoder/rel_pos_bias/relative_position_bias_table"));
      assertTrue(names.contains("encoder/mask_token"));
      assertTrue(names.contains("encoder/norm/gamma"));
      assertEquals(false, names.contains("encoder/blocks/0/attn/qkv/bias"), "BEiT has no k bias");
    }
  }

  @Test
  void beitInitIsTruncatedAtOneSigmaAndOutputProjectionsAreRescaled() {
    VitConfig big = new VitConfig(192, 2, 3, 768, 32, 4, 3, ModelConfig.AbsPosEmbedding.ABS_NONE,
        ModelConfig.RelPosBias.SHARED, ModelConfig.QkvBias.QV_BIAS, 0.1f, 0f, 1e-6f, ModelConfig.Init.BEIT,
        null, null, 5);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer.create(ps, tf.withSubScope("encoder"), big, false);
      try (Session s = new Session(g)) {
        s.initialize();
        float[] fc1 = GraphTesting.read(s, ps.get("encoder/blocks/1/mlp/fc1/kernel").read());
        double[] st = stats(fc1);
        assertTrue(Math.abs(st[0]) < 1e-3, "mean " + st[0]);
        // truncated at +-1 sigma: std = 0.02 * 0.5396 = 0.01079
        assertEquals(0.01079, st[1], 3e-4, "std of a ±1σ truncated N(0, 0.02²)");
        assertTrue(st[2] <= 0.02f + 1e-6, "max |w| " + st[2]);
        float[] fc2 = GraphTesting.read(s, ps.get("encoder/blocks/1/mlp/fc2/kernel").read());
        // block 2 (1-based): divided by sqrt(2*2) = 2
        assertEquals(0.01079 / 2, stats(fc2)[1], 3e-4);
      }
    }
  }

  private static double[] stats(float[] a) {
    double s = 0;
    double max = 0;
    for (float v : a) {
      s += v;
      max = Math.max(max, Math.abs(v));
    }
    double m = s / a.length;
    double var = 0;
    for (float v : a) {
      var += (v - m) * (v - m);
    }
    return new double[] {m, Math.sqrt(var / a.length), max};
  }

  @Test
  void maskTokenVisibleOnlyAndFullModesGiveTheExpectedShapes() {
    VitConfig cfg = small(ModelConfig.AbsPosEmbedding.SINCOS_2D, ModelConfig.RelPosBias.REL_NONE, 0f);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), cfg, true);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 8, 8, 1)));
      var full = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none());
      Operand<TInt32> keep = tf.constant(new int[][] {{3, 0}, {1, 2}});
      var visible = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none().keep(keep));
      Operand<TBool> mask = tf.constant(new boolean[][] {{true, false, false, true}, {false, false, false, false}});
      var masked = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none().mask(mask));
      assertEquals(2, full.blockOutputs().size());
      try (Session s = new Session(g)) {
        var out = GraphTesting.run(s, Map.of(x, images(2, 8, 1)), Map.of(x, new long[] {2, 8, 8, 1}),
            List.of(full.normed(), visible.normed(), masked.normed(), full.avgPool(tf), full.cls(tf)));
        assertEquals(2 * 5 * 16, out.get(0).length);
        assertEquals(2 * 3 * 16, out.get(1).length, "CLS + 2 visible tokens");
        assertEquals(2 * 5 * 16, out.get(2).length);
        assertEquals(2 * 16, out.get(3).length);
        assertEquals(2 * 16, out.get(4).length);
        // image 1 has an all-false mask: identical to the unmasked pass; image 0 differs.
        float[] a = out.get(0);
        float[] m = out.get(2);
        assertArrayEquals(java.util.Arrays.copyOfRange(a, 80, 160), java.util.Arrays.copyOfRange(m, 80, 160), 1e-6f);
        assertNotEquals(a[0], m[0]);
      }
    }
  }

  @Test
  void dropPathIsIdentityAtInferenceAndPerSampleInTraining() {
    VitConfig cfg = small(ModelConfig.AbsPosEmbedding.ABS_NONE, ModelConfig.RelPosBias.SHARED, 0.5f);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), cfg, false);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 8, 8, 1)));
      var inference = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none());
      var inference2 = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none());
      Operand<TInt64> seed = tf.constant(new long[] {1, 2});
      var training = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none().dropSeed(seed));
      try (Session s = new Session(g)) {
        float[] img = images(16, 8, 3);
        var out = GraphTesting.run(s, Map.of(x, img), Map.of(x, new long[] {16, 8, 8, 1}),
            List.of(inference.normed(), inference2.normed(), training.normed()));
        assertArrayEquals(out.get(0), out.get(1), "inference is deterministic (no drop path)");
        int differing = 0;
        int per = 5 * 16;
        for (int b = 0; b < 16; b++) {
          boolean same = java.util.Arrays.equals(java.util.Arrays.copyOfRange(out.get(0), b * per, (b + 1) * per),
              java.util.Arrays.copyOfRange(out.get(2), b * per, (b + 1) * per));
          differing += same ? 0 : 1;
        }
        // the last block drops with p = 0.5: most samples of 16 differ, and the draw is per sample
        assertTrue(differing > 0 && differing <= 16, "differing samples: " + differing);
      }
    }
  }

  @Test
  void patchifyOrderIsChannelThenRowThenColumn() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      // one 4x4 image with 2 channels, patch 2: value = 100*c + 10*y + x
      float[] img = new float[4 * 4 * 2];
      for (int y = 0; y < 4; y++) {
        for (int x = 0; x < 4; x++) {
          for (int c = 0; c < 2; c++) {
            img[(y * 4 + x) * 2 + c] = 100 * c + 10 * y + x;
          }
        }
      }
      Operand<TFloat32> images = tf.reshape(tf.constant(img), tf.constant(new int[] {1, 4, 4, 2}));
      Operand<TFloat32> p = Patches.patchify(tf, images, 4, 2, 2);
      Operand<TFloat32> back = Patches.unpatchify(tf, p, 4, 2, 2);
      try (Session s = new Session(g)) {
        float[] patches = GraphTesting.read(s, p);
        // patch 1 = grid (0, 1): pixels x in {2,3}, y in {0,1}; order c, py, px
        float[] expected = {2, 3, 12, 13, 102, 103, 112, 113};
        assertArrayEquals(expected, java.util.Arrays.copyOfRange(patches, 8, 16));
        assertArrayEquals(img, GraphTesting.read(s, back));
      }
    }
  }
}
