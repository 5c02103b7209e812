package org.mimtf.data.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.data.Image;

/** RandAugment's ops against hand-computed values (PIL / timm semantics). */
class RandAugmentTest {
  private static final float TOL = 1e-5f;
  private static final float[] FILL = {0.5f};
  private static final RandAugment INC =
      RandAugment.parse("rand-m9-mstd0.5-inc1", 0.5, 0.45, FILL);
  private static final RandAugment ORIG = RandAugment.parse("rand-m9-n2", 0.5, 0.45, FILL);

  private static float[] bytes(int... v) {
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = v[i] / 255f;
    }
    return f;
  }

  private static Image row(float... v) {
    return Image.wrap(1, v.length, 1, v);
  }

  @Test
  void invertPosterizeSolarizeExact() {
    assertArrayEquals(
        new float[] {0.8f, 0.4f, 0f}, RandAugment.invert(row(0.2f, 0.6f, 1f)).data(), TOL);
    Image px = row(bytes(200, 100, 255, 63));
    // 1 bit keeps 128; 2 bits keep 192 and 64.
    assertArrayEquals(bytes(128, 0, 128, 0), RandAugment.posterize(px, 1).data(), TOL);
    assertArrayEquals(bytes(192, 64, 192, 0), RandAugment.posterize(px, 2).data(), TOL);
    // Increasing posterize at level 9: 4 - int(3.6) = 1 bit; original at level 9: int(3.6) = 3 bits.
    SplittableRandom r = new SplittableRandom(0);
    assertArrayEquals(bytes(128, 0, 128, 0), INC.applyOp("Posterize", px, 9, r).data(), TOL);
    assertArrayEquals(bytes(192, 96, 224, 32), ORIG.applyOp("Posterize", px, 9, r).data(), TOL);
    // Increasing solarize at level 9: threshold 256 - int(230.4) = 26: 20 stays, 30 -> 225.
    assertArrayEquals(
        bytes(20, 225, 0), INC.applyOp("Solarize", row(bytes(20, 30, 255)), 9, r).data(), TOL);
    // Original solarize at level 9: threshold int(230.4) = 230: 229 stays, 230 -> 25.
    assertArrayEquals(
        bytes(229, 25), ORIG.applyOp("Solarize", row(bytes(229, 230)), 9, r).data(), TOL);
    // SolarizeAdd at level 9: int(99) = 99 added below 128, capped at 255.
    assertArrayEquals(
        bytes(159, 226, 128, 200),
        INC.applyOp("SolarizeAdd", row(bytes(60, 127, 128, 200)), 9, r).data(),
        TOL);
    // Magnitude 0: solarize threshold 256 (nothing), solarize-add 0.
    Image any = row(bytes(0, 100, 255));
    assertArrayEquals(any.data(), INC.applyOp("Solarize", any, 0, r).data(), TOL);
    assertArrayEquals(any.data(), INC.applyOp("SolarizeAdd", any, 0, r).data(), TOL);
  }

  @Test
  void autoContrastAndEqualize() {
    assertArrayEquals(
        new float[] {0f, 0.5f, 1f}, RandAugment.autoContrast(row(0.2f, 0.4f, 0.6f)).data(), TOL);
    Image flat = row(0.3f, 0.3f);
    assertArrayEquals(flat.data(), RandAugment.autoContrast(flat).data());
    // 1024 pixels: 512 of 0, 256 of 100, 256 of 200. step = (1024 - 256) // 256 = 3, n starts at 1:
    // lut[0] = 1 // 3 = 0, lut[100] = 513 // 3 = 171, lut[200] = 769 // 3 = 256 -> 255.
    int[] v = new int[1024];
    for (int i = 512; i < 768; i++) {
      v[i] = 100;
    }
    for (int i = 768; i < 1024; i++) {
      v[i] = 200;
    }
    Image eq = RandAugment.equalize(Image.wrap(32, 32, 1, bytes(v)));
    assertEquals(0f, eq.data()[0], TOL);
    assertEquals(171 / 255f, eq.data()[600], TOL);
    assertEquals(1f, eq.data()[1000], TOL);
  }

  @Test
  void sharpnessBlendsWithSmoothKernel() {
    float[] px = new float[9];
    java.util.Arrays.fill(px, 0.2f);
    px[4] = 0.5f;
    Image img = Image.wrap(3, 3, 1, px);
    // Smooth centre: (8 * 0.2 + 5 * 0.5) / 13 = 0.315385; factor 1.5: s + 1.5 (0.5 - s).
    float s = 4.1f / 13f;
    float[] out = RandAugment.sharpness(img, 1.5f).data();
    assertEquals(s + 1.5f * (0.5f - s), out[4], TOL);
    assertEquals(0.2f, out[0], TOL);
    assertEquals(s, RandAugment.sharpness(img, 0f).data()[4], TOL);
  }

  @Test
  void enhanceFactorsAreOnePlusMinusPointNineLevel() {
    Image img = row(0.1f, 0.2f, 0.4f);
    boolean sawUp = false;
    boolean sawDown = false;
    for (long seed = 0; seed < 20; seed++) {
      float[] out = INC.applyOp("Brightness", img, 9, new SplittableRandom(seed)).data();
      float ratio = out[2] / 0.4f;
      assertTrue(Math.abs(ratio - 1.81f) < TOL || Math.abs(ratio - 0.19f) < TOL, "" + ratio);
      sawUp |= ratio > 1;
      sawDown |= ratio < 1;
      for (int i = 0; i < 3; i++) {
        assertEquals(img.data()[i] * ratio, out[i], TOL);
      }
    }
    assertTrue(sawUp && sawDown, "both signs drawn");
    // Original (inc0) factor at level 9: 1.8 * 0.9 + 0.1 = 1.72.
    assertEquals(
        0.4f * 1.72f, ORIG.applyOp("Brightness", img, 9, new SplittableRandom(0)).data()[2], TOL);
  }

  @Test
  void shearAndTranslateOnKnownPattern() {
    float[] pattern = {0f, 0.4f, 0.8f, 1f, 0f, 0.4f, 0.8f, 1f};
    Image img = Image.wrap(2, 4, 1, pattern);
    // x_in = x' + 1: shifted left by one pixel, fill at the right edge.
    assertArrayEquals(
        new float[] {0.4f, 0.8f, 1f, 0.5f, 0.4f, 0.8f, 1f, 0.5f},
        RandAugment.affine(img, 1, 0, 1, 0, 1, 0, FILL).data(),
        TOL);
    assertArrayEquals(
        new float[] {0.5f, 0f, 0.4f, 0.8f, 0.5f, 0f, 0.4f, 0.8f},
        RandAugment.affine(img, 1, 0, -1, 0, 1, 0, FILL).data(),
        TOL);
    // ShearX 0.5: x_in = x' + 0.5 y'; row 0 (y' = 0.5) moves by 0.25, row 1 (y' = 1.5) by 0.75.
    assertArrayEquals(
        new float[] {0.1f, 0.5f, 0.85f, 1f, 0.3f, 0.7f, 0.95f, 0.5f},
        RandAugment.affine(img, 1, 0.5, 0, 0, 1, 0, FILL).data(),
        TOL);
    // TranslateX at level 10: 0.45 * 4 = 1.8 pixels either way.
    float[] t = INC.applyOp("TranslateX", img, 10, new SplittableRandom(1)).data();
    float[] left = RandAugment.affine(img, 1, 0, 1.8, 0, 1, 0, FILL).data();
    float[] right = RandAugment.affine(img, 1, 0, -1.8, 0, 1, 0, FILL).data();
    assertTrue(
        java.util.Arrays.equals(t, left) || java.util.Arrays.equals(t, right), "translate 1.8");
  }

  @Test
  void rotate180ReversesImage() {
    float[] px = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float[] out = RandAugment.rotate(Image.wrap(3, 3, 1, px), 180, FILL).data();
    assertArrayEquals(new float[] {9, 8, 7, 6, 5, 4, 3, 2, 1}, out, 1e-4f);
  }

  @Test
  void magnitudeZeroIsIdentityForGeometricOps() {
    SplittableRandom fillR = new SplittableRandom(3);
    float[] px = new float[5 * 7 * 3];
    for (int i = 0; i < px.length; i++) {
      px[i] = (float) fillR.nextDouble();
    }
    Image img = Image.wrap(5, 7, 3, px);
    for (String op : new String[] {"Rotate", "ShearX", "ShearY", "TranslateX", "TranslateY"}) {
      for (long seed = 0; seed < 4; seed++) {
        assertArrayEquals(
            px, INC.applyOp(op, img, 0, new SplittableRandom(seed)).data(), 1e-6f, op);
      }
    }
  }

  @Test
  void wholeOpIsSeededAndInputUntouched() {
    float[] px = new float[16 * 16 * 3];
    SplittableRandom r = new SplittableRandom(5);
    for (int i = 0; i < px.length; i++) {
      px[i] = (int) (r.nextDouble() * 256) / 255f;
    }
    float[] before = px.clone();
    Image img = Image.wrap(16, 16, 3, px);
    int changed = 0;
    for (long seed = 0; seed < 40; seed++) {
      Image a = INC.apply(img, new SplittableRandom(seed));
      Image b = INC.apply(img, new SplittableRandom(seed));
      assertArrayEquals(a.data(), b.data());
      if (!java.util.Arrays.equals(a.data(), px)) {
        changed++;
      }
    }
    assertArrayEquals(before, px);
    // Each of 2 ops runs with p 0.5: P(no op) = 0.25, so most draws change the image.
    assertTrue(changed > 20, "changed " + changed);
    assertNotEquals(0, changed);
  }

  @Test
  void builtFromRecipeAndBadConfigNamed() {
    var cfg = org.mimtf.config.proto.Augmentation.newBuilder();
    cfg.getRandAugmentBuilder();
    Augmentation op = Augmentations.build(cfg.build(), 32);
    assertInstanceOf(RandAugment.class, op);
    assertEquals("RandAugment(n=2, m=9.0, mstd=0.5, inc=1, prob=0.5)", op.toString());
    assertTrue(op.isGeometric());
    var bad = org.mimtf.config.proto.Augmentation.newBuilder();
    bad.getRandAugmentBuilder().setConfig("rand-m9-x3");
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Augmentations.buildAll(
                    "finetune.data.view[0].augment", java.util.List.of(bad.build()), 32));
    assertEquals(
        "finetune.data.view[0].augment[0]: rand_augment: config (rand-m9-x3): unknown part 'x3'"
            + " (expected m, n, mstd, inc)",
        e.getMessage());
  }
}
