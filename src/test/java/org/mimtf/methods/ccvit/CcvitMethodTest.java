package org.mimtf.methods.ccvit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.api.TowerOutput;
import org.mimtf.config.proto.Recipe;
import org.mimtf.methods.MethodRegistry;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Initializers;
import org.mimtf.nn.ParamStore;
import org.mimtf.testing.TinyRecipes;
import org.mimtf.train.Trainer;
import org.mimtf.util.Npy;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;

class CcvitMethodTest {
  @TempDir Path dir;

  private static final int B = 2;
  private static final int N = 49;

  /** A graph of the CCViT losses on fed views and masks, with the tiny recipe's model. */
  private final class Fixture implements AutoCloseable {
    final Graph g = new Graph();
    final Session s;
    final Placeholder<TFloat32> image;
    final Placeholder<TFloat32> tokenView;
    final Placeholder<TBool> mask;
    final Placeholder<TBool> replaced;
    final TowerOutput out;
    final float[] centroids;
    final String pixelBlockTerm;

    /** {@code extra}: recipe overrides, e.g. the pixel block's target. */
    Fixture(String... extra) throws Exception {
      Recipe r = TinyRecipes.ccvit(dir, 1, extra);
      CcvitMethod m = (CcvitMethod) MethodRegistry.create(r);
      centroids = Npy.read(dir.resolve("tok/centroids.npy")).data();
      Ops tf = Ops.create(g);
      m.create(tf, new ParamStore(new Initializers(0)));
      image = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, 28, 28, 1)));
      tokenView = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(B, 28, 28, 1)));
      mask = tf.placeholder(TBool.class, Placeholder.shape(Shape.of(B, N)));
      replaced = tf.placeholder(TBool.class, Placeholder.shape(Shape.of(B, N)));
      out = m.build(tf, Compute.fp32(), image, tokenView, mask, replaced, null);
      s = new Session(g);
      s.initialize();
      pixelBlockTerm = out.lossTerms().containsKey("pixel_mse") ? "pixel_mse" : "pixel_block_ce";
    }

    /** token_ce, the pixel block's loss (pixel_mse or pixel_block_ce), and the corrupted input image. */
    List<float[]> run(float[] img, float[] tok, boolean[] m, boolean[] r) {
      try (TFloat32 a = TFloat32.tensorOf(Shape.of(B, 28, 28, 1), DataBuffers.of(img, true, false));
          TFloat32 b = TFloat32.tensorOf(Shape.of(B, 28, 28, 1), DataBuffers.of(tok, true, false));
          TBool c = TBool.tensorOf(Shape.of(B, N), DataBuffers.of(m, true, false));
          TBool d = TBool.tensorOf(Shape.of(B, N), DataBuffers.of(r, true, false));
          Result res = s.runner().feed(image, a).feed(tokenView, b).feed(mask, c).feed(replaced, d)
              .fetch(out.lossTerms().get("token_ce")).fetch(out.lossTerms().get(pixelBlockTerm))
              .fetch(out.images().get("input")).run()) {
        return List.of(floats(res.get(0)), floats(res.get(1)), floats(res.get(2)));
      }
    }

    @Override
    public void close() {
      s.close();
      g.close();
    }
  }

  private static float[] floats(org.tensorflow.Tensor t) {
    float[] a = new float[(int) t.shape().size()];
    ((TFloat32) t).asRawTensor().data().asFloats().read(a);
    return a;
  }

  private static float[] randomImages(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] a = new float[B * 28 * 28];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) r.nextDouble();
    }
    return a;
  }

  /** Patch p (7x7 grid of 4x4) of image b. */
  private static void setPatch(float[] img, int b, int p, float value) {
    int gy = p / 7;
    int gx = p % 7;
    for (int y = 0; y < 4; y++) {
      for (int x = 0; x < 4; x++) {
        img[b * 784 + (gy * 4 + y) * 28 + gx * 4 + x] = value;
      }
    }
  }

  @Test
  void lossesCountOnlyTheCorruptedPositions() throws Exception {
    try (Fixture f = new Fixture()) {
      float[] img = randomImages(1);
      boolean[] mask = new boolean[B * N];
      boolean[] rep = new boolean[B * N];
      for (int p : new int[] {3, 4, 10, 11}) {
        mask[p] = true;
        mask[N + p] = true;
      }
      rep[20] = true;
      rep[N + 30] = true;
      List<float[]> base = f.run(img, img, mask, rep);
      // change the targets (the tokenizer's view) at an uncorrupted patch of each image: no effect
      float[] tok = img.clone();
      setPatch(tok, 0, 40, 0.9f);
      setPatch(tok, 1, 0, 0.1f);
      List<float[]> other = f.run(img, tok, mask, rep);
      assertEquals(base.get(0)[0], other.get(0)[0], "token CE must not see uncorrupted targets");
      assertEquals(base.get(1)[0], other.get(1)[0], "pixel MSE must not see uncorrupted targets");
      // ... while changing a target at a masked position does move both losses
      float[] tok2 = img.clone();
      setPatch(tok2, 0, 10, 0.95f);
      List<float[]> moved = f.run(img, tok2, mask, rep);
      assertNotEquals(base.get(1)[0], moved.get(1)[0]);
    }
  }

  /**
   * Writes centroid {@code k}'s pixels into patch p of image b, {@code delta} added to its first pixel
   * only (a uniform shift would vanish in the per-patch normalised pixel target).
   */
  private static void setPatchToCentroid(float[] img, int b, int p, float[] centroids, int k, float delta) {
    for (int y = 0; y < 4; y++) {
      for (int x = 0; x < 4; x++) {
        img[b * 784 + (p / 7 * 4 + y) * 28 + p % 7 * 4 + x] = centroids[k * 16 + y * 4 + x] + (y + x == 0 ? delta : 0f);
      }
    }
  }

  @Test
  void withTokenTargetsThePixelBlockLearnsCentroidIdsNotPixels() throws Exception {
    // Paper Table 3's "tokens only" rows: the pixel block's target is the centroid id, so two target
    // patches with the same nearest centroid give the same loss; with pixel targets they do not.
    for (String target : new String[] {"TOKENS", "PIXELS"}) {
      try (Fixture f = new Fixture("ccvit.pixel_block_target=" + target)) {
        assertEquals(target.equals("TOKENS") ? "pixel_block_ce" : "pixel_mse", f.pixelBlockTerm);
        float[] img = randomImages(3);
        boolean[] mask = new boolean[B * N];
        boolean[] rep = new boolean[B * N];
        for (int p : new int[] {8, 9, 15, 16}) {
          mask[p] = true;
          mask[N + p] = true;
        }
        float[] exact = img.clone();
        setPatchToCentroid(exact, 0, 9, f.centroids, 3, 0f);
        float[] near = img.clone();
        setPatchToCentroid(near, 0, 9, f.centroids, 3, 0.05f);
        float[] other = img.clone();
        setPatchToCentroid(other, 0, 9, f.centroids, 11, 0f);
        float a = f.run(img, exact, mask, rep).get(1)[0];
        float b = f.run(img, near, mask, rep).get(1)[0];
        float c = f.run(img, other, mask, rep).get(1)[0];
        assertTrue(Float.isFinite(a) && a > 0, target + ": " + a);
        if (target.equals("TOKENS")) {
          assertEquals(a, b, 0f, "same nearest centroid, same id target");
          assertNotEquals(a, c, "another centroid is another id target");
        } else {
          assertNotEquals(a, b, "pixel targets see the 0.05 change");
        }
      }
    }
  }

  @Test
  void replacedPatchesCarryTheirNearestCentroidsPixelsAndMaskedOnesAreHidden() throws Exception {
    try (Fixture f = new Fixture()) {
      float[] img = randomImages(2);
      boolean[] mask = new boolean[B * N];
      boolean[] rep = new boolean[B * N];
      mask[5] = true;
      rep[6] = true;
      List<float[]> out = f.run(img, img, mask, rep);
      float[] input = out.get(2);
      // patch 6 of image 0 = its nearest centroid (16 values, py-major as 4x4)
      float[] patch = new float[16];
      for (int y = 0; y < 4; y++) {
        for (int x = 0; x < 4; x++) {
          patch[y * 4 + x] = img[(y) * 28 + 24 + x];
        }
      }
      int best = 0;
      double bestD = Double.MAX_VALUE;
      for (int k = 0; k < 16; k++) {
        double s = 0;
        for (int t = 0; t < 16; t++) {
          double d = patch[t] - f.centroids[k * 16 + t];
          s += d * d;
        }
        if (s < bestD) {
          bestD = s;
          best = k;
        }
      }
      float[] shown = new float[16];
      for (int y = 0; y < 4; y++) {
        for (int x = 0; x < 4; x++) {
          shown[y * 4 + x] = input[y * 28 + 24 + x];
        }
      }
      assertArrayEquals(java.util.Arrays.copyOfRange(f.centroids, best * 16, best * 16 + 16), shown, 1e-6f);
      // masked patch 5 is shown grey, an untouched patch keeps its pixels
      assertEquals(0.5f, input[20], 0f);
      assertEquals(img[8 * 28 + 8], input[8 * 28 + 8], 0f);
    }
  }

  @Test
  void aFewStepsOfTheSmallRecipeLowerTheLoss() throws Exception {
    Recipe r = TinyRecipes.ccvit(dir.resolve("train"), 30, "schedule.base_lr=2e-3", "training.image_every_steps=15");
    new Trainer(r, MethodRegistry.create(r), false, new PrintStream(new ByteArrayOutputStream())).run();
    List<Double> l = TinyRecipes.losses(dir.resolve("train/run"));
    double first = (l.get(0) + l.get(1) + l.get(2)) / 3;
    double last = (l.get(27) + l.get(28) + l.get(29)) / 3;
    assertTrue(last < first - 0.1, "loss went from " + first + " to " + last);
    // original / corrupted input / reconstruction, every 15 steps
    var png = javax.imageio.ImageIO.read(dir.resolve("train/run/images/step-30.png").toFile());
    assertTrue(png.getWidth() > png.getHeight() / 8 && png.getHeight() > 0, "a grid of 3 columns");
  }

  @Test
  void theSmallRecipeStillLearnsWithoutCentroidReplacement() throws Exception {
    // the quality bench's CCViT ablation (paper Table 3: blockwise masking only)
    Recipe r = TinyRecipes.ccvit(dir.resolve("norep"), 30, "schedule.base_lr=2e-3", "ccvit.num_replaced_patches=0");
    assertEquals(0, r.getCcvit().getNumReplacedPatches());
    new Trainer(r, MethodRegistry.create(r), false, new PrintStream(new ByteArrayOutputStream())).run();
    List<Double> l = TinyRecipes.losses(dir.resolve("norep/run"));
    double first = (l.get(0) + l.get(1) + l.get(2)) / 3;
    double last = (l.get(27) + l.get(28) + l.get(29)) / 3;
    assertTrue(last < first - 0.1, "loss went from " + first + " to " + last);
    assertEquals("ccvit.num_replaced_patches=0", org.mimtf.bench.QualityBench.ablation("ccvit", "no-replacement")
        .overrides().get(0));
  }

  @Test
  void theTokensOnlyAblationTrainsAndLowersBothCrossEntropies() throws Exception {
    List<String> o = org.mimtf.bench.QualityBench.ablation("ccvit", "tokens-only").overrides();
    List<String> all = new java.util.ArrayList<>(List.of("schedule.base_lr=2e-3", "training.image_every_steps=30"));
    all.addAll(o);
    Recipe r = TinyRecipes.ccvit(dir.resolve("tok-only"), 30, all.toArray(String[]::new));
    assertEquals(0, r.getCcvit().getNumReplacedPatches());
    assertEquals(org.mimtf.config.proto.CcvitConfig.PixelBlockTarget.TOKENS, r.getCcvit().getPixelBlockTarget());
    new Trainer(r, MethodRegistry.create(r), false, new PrintStream(new ByteArrayOutputStream())).run();
    List<Double> l = TinyRecipes.losses(dir.resolve("tok-only/run"));
    double first = (l.get(0) + l.get(1) + l.get(2)) / 3;
    double last = (l.get(27) + l.get(28) + l.get(29)) / 3;
    assertTrue(last < first - 0.1, "loss went from " + first + " to " + last);
    // two cross-entropies over K = 16 ids start near 2 ln 16 = 5.5 (random init; the pixel MSE would be ~1)
    assertEquals(2 * Math.log(16), first, 1.0, "first losses " + l.subList(0, 3));
  }
}
