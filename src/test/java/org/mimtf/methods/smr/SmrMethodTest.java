package org.mimtf.methods.smr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.api.TowerOutput;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.SmrConfig;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.nn.Compute;
import org.mimtf.nn.GraphTesting;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.nn.reduce.TokenCompression;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.util.UserException;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

class SmrMethodTest {
  @TempDir Path dir;

  static final int B = 2;
  static final int N = 49;
  static final int CT = 16;

  /** The SMR graph of the tiny recipe on fed images and teacher features. */
  private static final class Fixture implements AutoCloseable {
    final Graph g = new Graph();
    final Ops tf = Ops.create(g);
    final ParamStore ps = new ParamStore(new Initializers(0));
    final Placeholder<TFloat32> image;
    final Placeholder<TFloat32> teacher;
    final TowerOutput out;
    final Session s;

    Fixture(Recipe r) {
      SmrMethod m = new SmrMethod(r, null, CT);
      m.create(tf, ps);
      image = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, 28, 28, 1)));
      teacher = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, N, CT)));
      boolean pixels = r.getSmr().getTarget() == SmrConfig.Target.PIXELS;
      out = m.build(tf, Compute.fp32(), image, pixels ? null : teacher,
          new TokenCompression(m.compression(), tf.constant(new long[] {1, 2})), null);
      s = new Session(g);
      s.initialize();
    }

    List<float[]> run(float[] img, float[] t, List<Operand<TFloat32>> fetch) {
      return GraphTesting.run(s, Map.of(image, img, teacher, t), Map.of(image, new long[] {B, 28, 28, 1},
          teacher, new long[] {B, N, CT}), fetch);
    }

    @Override
    public void close() {
      s.close();
      g.close();
    }
  }

  static float[] random(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextDouble();
    }
    return a;
  }

  @Test
  void smoothL1MseAndCosineLossesMatchHandComputations() {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> pred = tf.constant(new float[][][] {{{0f, 0.5f, 3f, -5f}}});
      Operand<TFloat32> zero = tf.constant(new float[][][] {{{0f, 0f, 0f, 0f}}});
      // PyTorch SmoothL1Loss(beta=2): 0.5 d^2 / 2 below 2, |d| - 1 above: 0, 0.0625, 2, 4
      float sl1 = GraphTesting.read(s, SmrMethod.reconstructionLoss(tf, pred, zero, SmrConfig.Loss.SMOOTH_L1, 2f))[0];
      assertEquals((0 + 0.0625 + 2 + 4) / 4, sl1, 1e-6);
      float mse = GraphTesting.read(s, SmrMethod.reconstructionLoss(tf, pred, zero, SmrConfig.Loss.MSE, 2f))[0];
      assertEquals((0 + 0.25 + 9 + 25) / 4, mse, 1e-5);
      Operand<TFloat32> a = tf.constant(new float[][][] {{{1, 0}, {1, 1}}});
      Operand<TFloat32> b = tf.constant(new float[][][] {{{0, 2}, {3, 3}}});
      float cos = GraphTesting.read(s, SmrMethod.reconstructionLoss(tf, a, b, SmrConfig.Loss.COSINE, 2f))[0];
      assertEquals(1 - (0 + 1) / 2.0, cos, 1e-6, "1 - mean cosine per token");
    }
  }

  /**
   * The targets are whitened per token by a parameter-free LayerNorm (an affine change of a token's
   * features leaves the loss unchanged), and every one of the N positions enters the loss — nothing is
   * masked, merged-away positions included.
   */
  @Test
  void targetsAreWhitenedPerTokenAndEveryPositionCounts() throws Exception {
    try (Fixture f = new Fixture(TinyRecipes.smr(dir, 1))) {
      float[] img = random(B * 784, 1);
      float[] t = random(B * N * CT, 2);
      Operand<TFloat32> loss = f.out.lossTerms().get("recon_loss");
      float base = f.run(img, t, List.of(loss)).get(0)[0];
      float[] affine = t.clone();
      for (int i = 0; i < affine.length; i++) {
        int token = i / CT;
        affine[i] = affine[i] * (1 + token % 3) + token % 5;
      }
      assertEquals(base, f.run(img, affine, List.of(loss)).get(0)[0], 2e-4f);
      for (int p = 0; p < N; p++) {
        float[] moved = t.clone();
        moved[p * CT] += 1f;
        assertNotEquals(base, f.run(img, moved, List.of(loss)).get(0)[0], "position " + p + " counts");
      }
    }
  }

  @Test
  void metricsReportTheTokensLeftAfterEachCompressingBlock() throws Exception {
    try (Fixture f = new Fixture(TinyRecipes.smr(dir, 1))) {
      Map<String, Operand<TFloat32>> m = f.out.metrics();
      List<Operand<TFloat32>> fetch = List.of(m.get("tokens_after_block1"), m.get("tokens_after_block2"),
          m.get("tokens_encoder_out"), m.get("largest_group"), m.get("recon_cosine"));
      assertEquals(List.of("recon_cosine", "tokens_after_block1", "tokens_after_block2", "tokens_encoder_out",
          "largest_group"), List.copyOf(m.keySet()));
      List<float[]> v = f.run(random(B * 784, 3), random(B * N * CT, 4), fetch);
      assertEquals(38f, v.get(0)[0], "50 - 12");
      assertEquals(26f, v.get(1)[0], "38 - 12");
      assertEquals(26f, v.get(2)[0]);
      assertTrue(v.get(3)[0] >= 2 && v.get(3)[0] <= 25, "largest merge group " + v.get(3)[0]);
      assertTrue(Math.abs(v.get(4)[0]) <= 1);
      assertEquals(List.of("input", "merge_groups", "survivors"), List.copyOf(f.out.images().keySet()));
    }
  }

  @Test
  void gradientsReachTheDummyTokenTheDecoderAndTheEncoderBeforeTheMerges() throws Exception {
    try (Fixture f = new Fixture(TinyRecipes.smr(dir, 1))) {
      List<Param> ps = List.of(f.ps.get("decoder/dummy_token"), f.ps.get("decoder/embed/kernel"),
          f.ps.get("encoder/patch_embed/proj/kernel"), f.ps.get("encoder/blocks/0/attn/qkv/kernel"));
      var grads = f.tf.gradients(f.out.loss(), ps.stream().map(p -> (Operand<?>) p.read()).toList());
      List<Operand<TFloat32>> norms = new ArrayList<>();
      for (int i = 0; i < ps.size(); i++) {
        @SuppressWarnings("unchecked")
        Operand<TFloat32> d = (Operand<TFloat32>) (Operand<?>) grads.dy(i);
        norms.add(f.tf.sum(f.tf.math.abs(f.tf.reshape(d, f.tf.constant(new int[] {-1}))), f.tf.constant(0)));
      }
      List<float[]> v = f.run(random(B * 784, 5), random(B * N * CT, 6), norms);
      for (int i = 0; i < v.size(); i++) {
        assertTrue(Float.isFinite(v.get(i)[0]) && v.get(i)[0] > 0, ps.get(i).name() + ": " + v.get(i)[0]);
      }
    }
  }

  @Test
  void pixelTargetsNeedNoTeacherAndAddAReconstructionImage() throws Exception {
    Recipe r = TinyRecipes.smr(dir, 1, "smr.target=PIXELS", "smr.loss=MSE");
    assertTrue(MethodRegistry.create(r).batchModels().isEmpty());
    try (Fixture f = new Fixture(r)) {
      assertTrue(f.out.images().containsKey("reconstruction"));
      float loss = f.run(random(B * 784, 7), new float[B * N * CT], List.of(f.out.loss())).get(0)[0];
      assertTrue(Float.isFinite(loss) && loss > 0.1, "MSE on normalised pixels from a random decoder: " + loss);
    }
  }

  /** The ablation's compression functions and the decoder-fill variant all build and give a finite loss. */
  @Test
  void everyCompressionFunctionAndTheUnmergeFillTrain() throws Exception {
    for (String[] o : new String[][] {{"smr.reducer=TOKEN_DROPPING"}, {"smr.reducer=RANDOM_DROPPING"},
        {"smr.reducer=INATTENTIVE_FUSION", "smr.fused_token_slot=NO_SLOT"}, {"smr.reducer=INATTENTIVE_FUSION"},
        {"smr.reducer=NO_REDUCTION"}, {"smr.decoder_fill=UNMERGE"}, {"smr.proportional_attention=true"},
        {"smr.bipartite_split=RANDOM"}}) {
      try (Fixture f = new Fixture(TinyRecipes.smr(dir, 1, o))) {
        List<float[]> v = f.run(random(B * 784, 8), random(B * N * CT, 9), List.of(f.out.loss(),
            f.out.metrics().get("tokens_encoder_out")));
        assertTrue(Float.isFinite(v.get(0)[0]) && v.get(0)[0] > 0, String.join(",", o) + ": " + v.get(0)[0]);
        assertEquals(o[0].equals("smr.reducer=NO_REDUCTION") ? 50f : 26f, v.get(1)[0], String.join(",", o));
      }
    }
  }

  /** ToMe silently merges fewer than asked once r exceeds half the tokens; the recipe check refuses that. */
  @Test
  void aRecipeAskingForMoreThanABlockCanRemoveIsRejected() {
    Path recipe = TinyRecipes.repoRoot().resolve("graphs/smr_fmnist_small.pbtxt");
    var e = assertThrows(org.mimtf.config.RecipeException.class, () -> org.mimtf.config.RecipeLoader.load(recipe,
        List.of("smr.merge_per_block=20")));
    assertTrue(e.getMessage().contains("smr.merge_per_block (20) is more than block 2 can remove from its 30 tokens "
        + "with TOKEN_MERGING (at most 14"), e.getMessage());
    org.mimtf.config.RecipeLoader.load(recipe, List.of("smr.merge_per_block=20", "smr.reducer=RANDOM_DROPPING"));
  }

  @Test
  void aMissingTeacherSaysHowToMakeIt() throws Exception {
    Recipe r = TinyRecipes.smr(dir, 1, "smr.teacher.saved_model_dir=" + dir.resolve("nope"));
    String msg = assertThrows(UserException.class, () -> MethodRegistry.create(r)).getMessage();
    assertTrue(msg.contains("no SMR teacher at") && msg.contains("scripts/quickstart.sh moca"), msg);
  }
}
