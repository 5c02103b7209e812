package org.mimtf.nn.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.nn.Compute;
import org.mimtf.nn.GraphTesting;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.TokenState;
import org.mimtf.nn.VisionTransformer;
import org.mimtf.nn.VitConfig;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Token compression inside the encoder (SMR): ToMe's bipartite matching by hand on tiny examples, the
 * slot/size/owner bookkeeping through a real ViT, every compression function's token count, r = 0
 * against the plain ViT, and gradients through the merge.
 */
class TokenCompressionTest {
  static final int IMG = 8;
  static final int PATCH = 2;
  static final int N = 16; // 4 x 4 patches

  static VitConfig tinyVit(int depth) {
    return new VitConfig(16, depth, 2, 32, IMG, PATCH, 1, ModelConfig.AbsPosEmbedding.SINCOS_2D,
        ModelConfig.RelPosBias.REL_NONE, ModelConfig.QkvBias.QKV_BIAS, 0f, 0f, 1e-6f, ModelConfig.Init.MAE,
        new float[] {0.5f}, new float[] {0.25f}, 3);
  }

  static float[] images(int b, long seed) {
    Random r = new Random(seed);
    float[] a = new float[b * IMG * IMG];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextFloat();
    }
    return a;
  }

  static Operand<TFloat32> f(Ops tf, Operand<TInt32> x) {
    return tf.dtypes.cast(x, TFloat32.class);
  }

  /** A state of one example from host arrays: rows [T, D], sizes [T], slots [T], owner [N]. */
  static TokenState state(Ops tf, float[][] x, float[] sizes, int[] slots, int[] owner) {
    int t = x.length;
    return new TokenState(tf.constant(x), t, tf.reshape(tf.constant(sizes), tf.constant(new int[] {1, t, 1})),
        tf.constant(new int[][] {slots}), tf.constant(new int[][] {owner}));
  }

  static float[] read(Session s, Operand<TFloat32> o) {
    return GraphTesting.read(s, o);
  }

  // ---- hand computations ------------------------------------------------------------------------

  /**
   * Five tokens [CLS, t1, t2, t3, t4] with sizes carried from earlier merges (1, 2, 1, 3, 2). A = {CLS,
   * t2, t4}, B = {t1, t3}. The metric makes t2 and t4 most similar to t1; the CLS key equals t1's key
   * exactly (the most similar pair of all), yet CLS must not merge. With r = 2 both t2 and t4 go into
   * t1: [CLS, (2·x1 + 1·x2 + 2·x4) / 5, x3].
   */
  @Test
  void mergedValuesAreSizeWeightedMeansComputedByHand() {
    float[][] x = {{9, 9}, {1, 10}, {4, -2}, {7, 7}, {-3, 5}};
    float[] sizes = {1, 2, 1, 3, 2};
    float[][] metric = {{1, 0}, {1, 0}, {1, 0.05f}, {0, 1}, {1, 0.1f}};
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      TokenState in = state(tf, x, sizes, new int[] {-1, 0, 1, 2, 3}, new int[] {1, 2, 3, 4});
      var m = BipartiteSoftMatching.match(tf, tf.constant(new float[][][] {metric}), 5, 2);
      assertEquals(2, m.r());
      TokenState out = BipartiteSoftMatching.apply(tf, in, m, false);
      assertEquals(3, out.tokens());
      float[] rows = read(s, out.rows());
      float m0 = (2 * 1 + 1 * 4 + 2 * -3) / 5f;
      float m1 = (2 * 10 + 1 * -2 + 2 * 5) / 5f;
      assertArrayEquals(new float[] {9, 9, m0, m1, 7, 7}, rows, 1e-5f, "[CLS; merged(t1, t2, t4); t3]");
      assertArrayEquals(new float[] {1, 5, 3}, read(s, out.sizes()), "sizes add");
      assertArrayEquals(new float[] {-1, 0, 2}, read(s, f(tf, out.slots())), "the destination keeps its slot");
      assertArrayEquals(new float[] {1, 1, 2, 1}, read(s, f(tf, out.owner())), "patches 0, 1, 3 went into token 1");
      // plain (unweighted) averaging would give a different value: the sizes matter
      assertNotEquals((1 + 4 - 3) / 3f, m0, 1e-3f);
    }
  }

  /**
   * With r = 1 only the best-matching A token merges; kept A tokens stay in A order before all B tokens
   * (ToMe's [unmerged A; B] layout), so the next block's parity split is over this new order.
   */
  @Test
  void oneMergeKeepsTheOtherATokensFirstInTheirOrder() {
    float[][] x = {{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}};
    float[][] metric = {{1, 0}, {1, 0}, {0.6f, 0.8f}, {0, 1}, {0.1f, 1}};
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      TokenState in = state(tf, x, new float[] {1, 1, 1, 1, 1}, new int[] {-1, 0, 1, 2, 3}, new int[] {1, 2, 3, 4});
      var m = BipartiteSoftMatching.match(tf, tf.constant(new float[][][] {metric}), 5, 1);
      TokenState out = BipartiteSoftMatching.apply(tf, in, m, false);
      // t4 (A) is closest to t3 (B): cos = 0.995; t2 to t3: 0.8; so t4 merges into t3
      assertArrayEquals(new float[] {0, 1, 4, 5, 2, 3, 7, 8}, read(s, out.rows()), 1e-6f,
          "[CLS, t2 | t1, mean(t3, t4)]");
      assertArrayEquals(new float[] {-1, 1, 0, 2}, read(s, f(tf, out.slots())));
      assertArrayEquals(new float[] {2, 1, 3, 3}, read(s, f(tf, out.owner())));
      TokenState dropped = BipartiteSoftMatching.apply(tf, in, m, true);
      assertArrayEquals(new float[] {0, 1, 4, 5, 2, 3, 6, 7}, read(s, dropped.rows()), 1e-6f, "TD deletes t4");
      assertArrayEquals(new float[] {2, 1, 3, -1}, read(s, f(tf, dropped.owner())), "patch 3 is gone");
    }
  }

  /** ITF by hand: the two least attentive of four patch tokens fuse (K = 1) by attentiveness weights. */
  @Test
  void inattentiveFusionFusesKPlusOneTokensByAttentivenessWeights() {
    float[][] x = {{0, 0}, {1, 1}, {2, 4}, {3, 9}, {5, 25}};
    float[] attn = {0.4f, 0.1f, 0.3f, 0.05f}; // patches t1..t4; least attentive: t4 (0.05), t2 (0.1)
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      TokenState in = state(tf, x, new float[] {1, 1, 2, 1, 1}, new int[] {-1, 0, 1, 2, 3}, new int[] {1, 2, 3, 4});
      TokenState out = InattentiveFusion.apply(tf, in, tf.constant(new float[][] {attn}), 1, true);
      assertEquals(4, out.tokens());
      float w2 = 0.1f / 0.15f;
      float w4 = 0.05f / 0.15f;
      assertArrayEquals(new float[] {0, 0, 1, 1, 3, 9, w2 * 2 + w4 * 5, w2 * 4 + w4 * 25}, read(s, out.rows()), 1e-5f,
          "[CLS, t1, t3, fused(t2, t4)]");
      assertArrayEquals(new float[] {1, 1, 1, 3}, read(s, out.sizes()));
      assertArrayEquals(new float[] {-1, 0, 2, 1}, read(s, f(tf, out.slots())), "the most attentive member's slot");
      assertArrayEquals(new float[] {1, 3, 2, 3}, read(s, f(tf, out.owner())));
      TokenState noSlot = InattentiveFusion.apply(tf, in, tf.constant(new float[][] {attn}), 1, false);
      assertArrayEquals(new float[] {-1, 0, 2, TokenState.NO_SLOT}, read(s, f(tf, noSlot.slots())));
    }
  }

  @Test
  void attentivenessIsTheClsRowAveragedOverHeads() {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      // [B=1, h=2, T=3, T=3]
      float[][][][] p = {{{{0.2f, 0.5f, 0.3f}, {1, 0, 0}, {1, 0, 0}}, {{0.4f, 0.1f, 0.5f}, {1, 0, 0}, {1, 0, 0}}}};
      assertArrayEquals(new float[] {0.3f, 0.4f}, read(s, InattentiveFusion.attentiveness(tf, tf.constant(p))), 1e-6f);
    }
  }

  // ---- through the encoder -----------------------------------------------------------------------

  private record Run(VisionTransformer.Output out, int[] tokens) {}

  private static Run forward(Ops tf, VisionTransformer vit, Placeholder<TFloat32> x, TokenCompression.Kind kind,
      int k, List<Integer> blocks, int depth) {
    var cfg = TokenCompression.Config.of(kind, k, blocks);
    var out = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none().reducer(
        new TokenCompression(cfg, tf.constant(new long[] {5, 9}))));
    return new Run(out, cfg.tokensAfterBlocks(N, depth));
  }

  /**
   * TM in blocks 1–2 (r = 4): CLS stays first and is never merged, every original patch is owned by
   * exactly one surviving patch token, each survivor's slot is a patch it owns, slots are distinct,
   * and sizes count the owned patches.
   */
  @Test
  void slotBookkeepingMapsEveryPatchToExactlyOneSurvivor() {
    int b = 3;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), tinyVit(3), false);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, IMG, IMG, 1)));
      Run run = forward(tf, vit, x, TokenCompression.Kind.MERGE, 4, List.of(0, 1), 3);
      assertArrayEquals(new int[] {13, 9, 9}, run.tokens());
      var plain = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none());
      // the paper's random partition (a random order before the parity split) keeps the same invariants
      var random = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none().reducer(new TokenCompression(
          TokenCompression.Config.of(TokenCompression.Kind.MERGE, 4, List.of(0, 1)).withRandomSplit(true),
          tf.constant(new long[] {3, 4}))));
      for (TokenState st : List.of(run.out().state(), random.state())) {
        assertEquals(9, st.tokens());
        try (Session s = new Session(g)) {
          List<float[]> v = GraphTesting.run(s, Map.of(x, images(b, 1)), Map.of(x, new long[] {b, IMG, IMG, 1}),
              List.of(f(tf, st.slots()), f(tf, st.owner()), tf.reshape(st.sizes(), tf.constant(new int[] {-1})),
                  run.out().blockOutputs().get(0), plain.blockOutputs().get(0)));
          float[] slots = v.get(0);
          float[] owner = v.get(1);
          float[] sizes = v.get(2);
          for (int e = 0; e < b; e++) {
            assertEquals(-1f, slots[e * 9], "CLS first, slot -1");
            assertEquals(1f, sizes[e * 9], "CLS never absorbs anything");
            int[] count = new int[9];
            for (int p = 0; p < N; p++) {
              int o = (int) owner[e * N + p];
              assertTrue(o >= 1 && o < 9, "patch " + p + " owned by survivor " + o);
              count[o]++;
            }
            Set<Integer> seen = new HashSet<>();
            float total = 0;
            for (int t = 1; t < 9; t++) {
              int slot = (int) slots[e * 9 + t];
              assertTrue(slot >= 0 && slot < N && seen.add(slot), "distinct slot " + slot);
              assertEquals(t, (int) owner[e * N + slot], "a survivor owns its own slot");
              assertEquals(count[t], sizes[e * 9 + t], "size = patches owned");
              total += sizes[e * 9 + t];
            }
            assertEquals(N, total, 0f);
          }
          // block 1 merges after its attention: its output has 13 tokens, and the CLS row equals what
          // the plain ViT computes up to that point only if merging never touched CLS before the MLP
          assertEquals(b * 13 * 16, v.get(3).length);
          assertArrayEquals(Arrays.copyOfRange(v.get(4), 0, 16), Arrays.copyOfRange(v.get(3), 0, 16), 1e-5f,
              "CLS after block 1 is the plain ViT's: its attention and MLP saw no merge of CLS");
        }
      }
    }
  }

  @Test
  void withRZeroTheEncoderEqualsThePlainVit() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), tinyVit(2), false);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, IMG, IMG, 1)));
      var plain = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none());
      List<Operand<TFloat32>> fetch = new ArrayList<>(List.of(plain.normed()));
      for (TokenCompression.Kind kind : TokenCompression.Kind.values()) {
        Run r = forward(tf, vit, x, kind, 0, List.of(0, 1), 2);
        assertEquals(N + 1, r.out().state().tokens());
        fetch.add(r.out().normed());
      }
      Run none = forward(tf, vit, x, TokenCompression.Kind.NONE, 4, List.of(0, 1), 2);
      fetch.add(none.out().normed());
      try (Session s = new Session(g)) {
        List<float[]> v = GraphTesting.run(s, Map.of(x, images(2, 2)), Map.of(x, new long[] {2, IMG, IMG, 1}), fetch);
        for (int i = 1; i < v.size(); i++) {
          assertArrayEquals(v.get(0), v.get(i), "reducer " + i + " with nothing to remove is the plain ViT");
        }
      }
    }
  }

  /** Every compression function removes exactly K tokens in each configured block and keeps CLS first. */
  @Test
  void eachCompressionFunctionKeepsTheConfiguredCount() {
    int b = 2;
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), tinyVit(3), false);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, IMG, IMG, 1)));
      List<TokenCompression.Kind> kinds = List.of(TokenCompression.Kind.MERGE, TokenCompression.Kind.DROP,
          TokenCompression.Kind.FUSE, TokenCompression.Kind.RANDOM_DROP);
      List<Operand<TFloat32>> fetch = new ArrayList<>();
      for (TokenCompression.Kind kind : kinds) {
        Run r = forward(tf, vit, x, kind, 3, List.of(0, 2), 3);
        assertArrayEquals(new int[] {14, 14, 11}, r.tokens(), kind.name());
        for (int i = 0; i < 3; i++) {
          assertEquals(r.tokens()[i], r.out().blockOutputs().get(i).shape().get(1), kind + " block " + i);
        }
        assertEquals(11, r.out().normed().shape().get(1));
        fetch.add(f(tf, r.out().state().slots()));
        fetch.add(f(tf, r.out().state().owner()));
        fetch.add(tf.reshape(r.out().state().sizes(), tf.constant(new int[] {-1})));
      }
      try (Session s = new Session(g)) {
        List<float[]> v = GraphTesting.run(s, Map.of(x, images(b, 3)), Map.of(x, new long[] {b, IMG, IMG, 1}), fetch);
        for (int k = 0; k < kinds.size(); k++) {
          float[] slots = v.get(3 * k);
          float[] owner = v.get(3 * k + 1);
          float[] sizes = v.get(3 * k + 2);
          TokenCompression.Kind kind = kinds.get(k);
          for (int e = 0; e < b; e++) {
            assertEquals(-1f, slots[e * 11], kind + ": CLS first");
            int owned = 0;
            Set<Integer> seen = new HashSet<>();
            for (int t = 1; t < 11; t++) {
              int slot = (int) slots[e * 11 + t];
              assertTrue(slot >= 0 && seen.add(slot), kind + ": distinct grid slots");
              assertEquals(t, (int) owner[e * N + slot], kind + ": the token at a slot owns it");
            }
            for (int p = 0; p < N; p++) {
              owned += owner[e * N + p] >= 0 ? 1 : 0;
            }
            float total = 0;
            for (int t = 0; t < 11; t++) {
              total += sizes[e * 11 + t];
            }
            boolean deletes = kind == TokenCompression.Kind.DROP || kind == TokenCompression.Kind.RANDOM_DROP;
            assertEquals(deletes ? 10 : N, owned, kind + ": patches whose content survives");
            assertEquals(deletes ? 11 : N + 1, total, 0f, kind + ": sizes");
          }
        }
      }
    }
  }

  @Test
  void gradientsFlowThroughTheMergeAsSizeWeights() {
    float[][] x0 = {{9, 9}, {1, 10}, {4, -2}, {7, 7}, {-3, 5}};
    float[][] metric = {{1, 0}, {1, 0}, {1, 0.05f}, {0, 1}, {1, 0.1f}};
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(5, 2)));
      TokenState in = new TokenState(x, 5, tf.reshape(tf.constant(new float[] {1, 2, 1, 3, 2}),
          tf.constant(new int[] {1, 5, 1})), tf.constant(new int[][] {{-1, 0, 1, 2, 3}}),
          tf.constant(new int[][] {{1, 2, 3, 4}}));
      // the metric depends on x too (as keys do): its path must not break or change the gradient
      Operand<TFloat32> met = tf.math.add(tf.constant(new float[][][] {metric}),
          tf.math.mul(tf.expandDims(x, tf.constant(0)), tf.constant(0f)));
      TokenState out = BipartiteSoftMatching.apply(tf, in, BipartiteSoftMatching.match(tf, met, 5, 2), false);
      float[] c = {1, -1, 2, 3, -2, 5};
      Operand<TFloat32> loss = tf.sum(tf.math.mul(tf.reshape(out.rows(), tf.constant(new int[] {-1})),
          tf.constant(c)), tf.constant(0));
      var grads = tf.gradients(loss, List.of(x));
      @SuppressWarnings("unchecked")
      Operand<TFloat32> dx = (Operand<TFloat32>) (Operand<?>) grads.dy(0);
      try (Session s = new Session(g)) {
        float[] flat = new float[10];
        for (int i = 0; i < 5; i++) {
          flat[2 * i] = x0[i][0];
          flat[2 * i + 1] = x0[i][1];
        }
        float[] gx = GraphTesting.run(s, Map.of(x, flat), Map.of(x, new long[] {5, 2}), List.of(dx)).get(0);
        // CLS -> row 0 of c; t1, t2, t4 -> merged row (c[2], c[3]) times s_i / 5; t3 -> row 2
        float[] expected = {1, -1, 2 * 2 / 5f, 3 * 2 / 5f, 2 / 5f, 3 / 5f, -2, 5, 2 * 2 / 5f, 3 * 2 / 5f};
        assertArrayEquals(expected, gx, 1e-5f);
      }
    }
  }

  @Test
  void gradientsReachTheEncoderThroughEveryCompressionFunction() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), tinyVit(2), false);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, IMG, IMG, 1)));
      Param qkv = ps.get("encoder/blocks/0/attn/qkv/kernel");
      List<Operand<TFloat32>> norms = new ArrayList<>();
      for (TokenCompression.Kind kind : List.of(TokenCompression.Kind.MERGE, TokenCompression.Kind.DROP,
          TokenCompression.Kind.FUSE, TokenCompression.Kind.RANDOM_DROP)) {
        Run r = forward(tf, vit, x, kind, 3, List.of(0, 1), 2);
        Operand<TFloat32> loss = tf.math.mean(tf.math.square(r.out().normed()), tf.constant(new int[] {0, 1, 2}));
        var grads = tf.gradients(loss, List.of(qkv.read()));
        @SuppressWarnings("unchecked")
        Operand<TFloat32> d = (Operand<TFloat32>) (Operand<?>) grads.dy(0);
        norms.add(tf.sum(tf.math.abs(d), tf.constant(new int[] {0, 1})));
      }
      try (Session s = new Session(g)) {
        List<float[]> v = GraphTesting.run(s, Map.of(x, images(2, 4)), Map.of(x, new long[] {2, IMG, IMG, 1}), norms);
        for (float[] n : v) {
          assertTrue(Float.isFinite(n[0]) && n[0] > 0, "gradient norm " + n[0]);
        }
      }
    }
  }

  @Test
  void proportionalAttentionChangesOnlyBlocksAfterAMerge() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), tinyVit(2), false);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, IMG, IMG, 1)));
      var cfg = TokenCompression.Config.of(TokenCompression.Kind.MERGE, 4, List.of(0));
      var off = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none().reducer(
          new TokenCompression(cfg, null)));
      var on = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none().reducer(
          new TokenCompression(cfg.withProportionalAttention(true), null)));
      try (Session s = new Session(g)) {
        List<float[]> v = GraphTesting.run(s, Map.of(x, images(2, 5)), Map.of(x, new long[] {2, IMG, IMG, 1}),
            List.of(off.blockOutputs().get(0), on.blockOutputs().get(0), off.normed(), on.normed()));
        assertArrayEquals(v.get(0), v.get(1), "sizes are all 1 in block 1: log 1 = 0");
        assertFalse(Arrays.equals(v.get(2), v.get(3)), "block 2 sees merged sizes");
      }
    }
  }

  @Test
  void randomDroppingDrawsFromTheStepSeed() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      VisionTransformer vit = VisionTransformer.create(ps, tf.withSubScope("encoder"), tinyVit(1), false);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, IMG, IMG, 1)));
      var cfg = TokenCompression.Config.of(TokenCompression.Kind.RANDOM_DROP, 6, List.of(0));
      List<Operand<TFloat32>> slots = new ArrayList<>();
      for (long step : new long[] {1, 1, 2}) {
        var out = vit.forward(tf, Compute.fp32(), x, VisionTransformer.Inputs.none().reducer(
            new TokenCompression(cfg, tf.constant(new long[] {0, step}))));
        slots.add(f(tf, out.state().slots()));
      }
      try (Session s = new Session(g)) {
        List<float[]> v = GraphTesting.run(s, Map.of(x, images(4, 6)), Map.of(x, new long[] {4, IMG, IMG, 1}), slots);
        assertArrayEquals(v.get(0), v.get(1), "same seed, same draw");
        assertFalse(Arrays.equals(v.get(0), v.get(2)), "another step, another draw");
        // per example: the four examples do not all keep the same patches
        Set<String> kept = new HashSet<>();
        for (int e = 0; e < 4; e++) {
          kept.add(Arrays.toString(Arrays.copyOfRange(v.get(0), e * 11, (e + 1) * 11)));
        }
        assertTrue(kept.size() > 1, "drawn per example");
      }
    }
  }
}
