package org.mimtf.data.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.data.Image;

/** Photometric ops against values computed by hand from torchvision's tensor formulas. */
class ColorTest {
  private static final float TOL = 1e-6f;

  @Test
  void brightnessScalesAndClamps() {
    float[] px = {0.2f, 0.6f, 0.9f};
    ColorOps.brightness(px, 1.5f);
    assertArrayEquals(new float[] {0.3f, 0.9f, 1.0f}, px, TOL);
  }

  @Test
  void contrastBlendsWithMeanLuma() {
    // L(red) = 0.299, L(blue) = 0.114, mean = 0.2065; f = 0.5: x/2 + 0.10325.
    float[] px = {1f, 0f, 0f, 0f, 0f, 1f};
    ColorOps.contrast(px, 3, 0.5f);
    assertArrayEquals(
        new float[] {0.60325f, 0.10325f, 0.10325f, 0.10325f, 0.10325f, 0.60325f}, px, TOL);
    // One channel: the mean of the values themselves, (0.2 + 0.6) / 2 = 0.4; f = 2: 2x - 0.4.
    float[] gray = {0.2f, 0.6f};
    ColorOps.contrast(gray, 1, 2f);
    assertArrayEquals(new float[] {0f, 0.8f}, gray, TOL);
  }

  @Test
  void saturationBlendsWithOwnLuma() {
    // (0.5, 0.25, 0.25): L = 0.1495 + 0.14675 + 0.0285 = 0.32475; f = 2: 2x - L.
    float[] px = {0.5f, 0.25f, 0.25f};
    ColorOps.saturation(px, 3, 2f);
    assertArrayEquals(new float[] {0.67525f, 0.17525f, 0.17525f}, px, TOL);
    float[] red = {1f, 0f, 0f};
    ColorOps.saturation(red, 3, 0f);
    assertArrayEquals(new float[] {0.299f, 0.299f, 0.299f}, red, TOL);
    float[] single = {0.3f, 0.9f};
    ColorOps.saturation(single, 1, 0f);
    assertArrayEquals(new float[] {0.3f, 0.9f}, single);
  }

  @Test
  void grayscaleWeights() {
    float[] px = {1f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 1f};
    float[] out = new float[9];
    ColorOps.grayscale3(px, out);
    assertArrayEquals(
        new float[] {0.299f, 0.299f, 0.299f, 0.587f, 0.587f, 0.587f, 0.114f, 0.114f, 0.114f},
        out,
        TOL);
    RandomGrayscale always = new RandomGrayscale(1.0);
    Image rgb = Image.wrap(1, 3, 3, px);
    assertArrayEquals(out, always.apply(rgb, new SplittableRandom(0)).data(), TOL);
    assertEquals(3, always.apply(rgb, new SplittableRandom(0)).channels());
    Image one = Image.wrap(1, 2, 1, new float[] {0.1f, 0.2f});
    assertSame(one, always.apply(one, new SplittableRandom(0)));
    assertSame(rgb, new RandomGrayscale(0.0).apply(rgb, new SplittableRandom(0)));
  }

  @Test
  void hueShiftsRedToGreenToBlue() {
    float[] red = {1f, 0f, 0f};
    ColorOps.hue(red, 3, 1f / 3f);
    assertArrayEquals(new float[] {0f, 1f, 0f}, red, TOL);
    float[] red2 = {1f, 0f, 0f};
    ColorOps.hue(red2, 3, -1f / 3f);
    assertArrayEquals(new float[] {0f, 0f, 1f}, red2, TOL);
    float[] red3 = {1f, 0f, 0f};
    ColorOps.hue(red3, 3, 0.5f);
    assertArrayEquals(new float[] {0f, 1f, 1f}, red3, TOL);
    // (0.5, 0.25, 0.25): v = 0.5, s = 0.5, h = 0. Shift 1/6: sector 1, f = 0 -> (q, v, p) with
    // q = v = 0.5 and p = v (1 - s) = 0.25.
    float[] muted = {0.5f, 0.25f, 0.25f};
    ColorOps.hue(muted, 3, 1f / 6f);
    assertArrayEquals(new float[] {0.5f, 0.5f, 0.25f}, muted, TOL);
    // Gray pixels have no hue; the round trip leaves them (and a zero shift leaves anything) as is.
    float[] gray = {0.4f, 0.4f, 0.4f, 0.9f, 0.3f, 0.1f};
    ColorOps.hue(gray, 3, 0.2f);
    assertArrayEquals(new float[] {0.4f, 0.4f, 0.4f}, java.util.Arrays.copyOf(gray, 3), TOL);
    float[] any = {0.9f, 0.3f, 0.1f, 0.2f, 0.7f, 0.5f};
    float[] copy = any.clone();
    ColorOps.hue(any, 3, 0f);
    assertArrayEquals(copy, any, TOL);
  }

  /**
   * Literal transcription of torchvision 0.14 {@code _rgb2hsv}, {@code adjust_hue} and {@code
   * _hsv2rgb} for one pixel in float32 (masked sums, divisions, fmod and Python's %), used as the
   * reference for {@link ColorOps#hue}, which reorganises the arithmetic for speed.
   */
  private static float[] torchHue(float r, float g, float b, float hueFactor) {
    float maxc = Math.max(r, Math.max(g, b));
    float minc = Math.min(r, Math.min(g, b));
    boolean eqc = maxc == minc;
    float cr = maxc - minc;
    float s = cr / (eqc ? 1f : maxc);
    float crDivisor = eqc ? 1f : cr;
    float rc = (maxc - r) / crDivisor;
    float gc = (maxc - g) / crDivisor;
    float bc = (maxc - b) / crDivisor;
    float hr = (maxc == r ? 1f : 0f) * (bc - gc);
    float hg = ((maxc == g) && (maxc != r) ? 1f : 0f) * (2f + rc - bc);
    float hb = ((maxc != g) && (maxc != r) ? 1f : 0f) * (4f + gc - rc);
    float h = hr + hg + hb;
    h = (h / 6f + 1f) % 1f; // torch.fmod
    h = h + hueFactor;
    h = h - (float) Math.floor(h); // Python % 1.0
    float v = maxc;
    int i = (int) Math.floor(h * 6f);
    float f = h * 6f - i;
    float p = Math.min(1f, Math.max(0f, v * (1f - s)));
    float q = Math.min(1f, Math.max(0f, v * (1f - s * f)));
    float t = Math.min(1f, Math.max(0f, v * (1f - s * (1f - f))));
    i = i % 6;
    float[][] a = {{v, q, p, p, t, v}, {t, v, v, q, p, p}, {p, p, t, v, v, q}};
    return new float[] {a[0][i], a[1][i], a[2][i]};
  }

  @Test
  void hueMatchesTorchvisionFormulasOnManyPixels() {
    SplittableRandom rng = new SplittableRandom(11);
    int n = 20000;
    float[] px = new float[n * 3];
    for (int i = 0; i < px.length; i++) {
      double u = rng.nextDouble();
      // include exact 0, exact 1 and ties between channels, where the branch choice matters
      px[i] = u < 0.05 ? 0f : u < 0.1 ? 1f : u < 0.15 ? 0.5f : (float) rng.nextDouble();
    }
    for (float shift : new float[] {-0.5f, -0.1f, 0f, 0.03f, 0.25f, 0.5f}) {
      float[] ours = px.clone();
      ColorOps.hue(ours, 3, shift);
      for (int k = 0; k < n; k++) {
        float[] ref = torchHue(px[3 * k], px[3 * k + 1], px[3 * k + 2], shift);
        for (int c = 0; c < 3; c++) {
          assertEquals(ref[c], ours[3 * k + c], 2e-6f, "pixel " + k + " shift " + shift);
        }
      }
    }
  }

  @Test
  void solarizeInvertsAtOrAboveThreshold() {
    Image in = Image.wrap(1, 4, 1, new float[] {0.2f, 0.49f, 0.5f, 0.8f});
    assertArrayEquals(
        new float[] {0.2f, 0.49f, 0.5f, 0.2f}, Solarize.solarize(in, 0.5f).data(), TOL);
    assertArrayEquals(
        new float[] {0.2f, 0.49f, 0.5f, 0.2f},
        new Solarize(1.0, 0.5f).apply(in, new SplittableRandom(1)).data(),
        TOL);
    assertSame(in, new Solarize(0.0, 0.5f).apply(in, new SplittableRandom(1)));
  }

  @Test
  void normalizePerChannel() {
    Image in = Image.wrap(1, 1, 3, new float[] {0.485f, 0.68f, 0f});
    Image out = new Normalize(new float[0], new float[0]).apply(in, new SplittableRandom(0));
    assertArrayEquals(new float[] {0f, 1f, -0.406f / 0.225f}, out.data(), 1e-5f);
    Image gray = Image.wrap(1, 2, 1, new float[] {0f, 1f});
    assertArrayEquals(
        new float[] {-1f, 1f},
        new Normalize(new float[0], new float[0]).apply(gray, new SplittableRandom(0)).data(),
        TOL);
    Image custom =
        new Normalize(new float[] {0.5f, 0.25f, 0f}, new float[] {0.5f, 0.25f, 2f})
            .apply(Image.wrap(1, 1, 3, new float[] {1f, 0.5f, 1f}), new SplittableRandom(0));
    assertArrayEquals(new float[] {1f, 1f, 0.5f}, custom.data(), TOL);
  }

  @Test
  void jitterParamsFollowTorchvisionRanges() {
    ColorJitter jitter = new ColorJitter(0.4, 0.4, 0.2, 0.1, 1.0);
    SplittableRandom rng = new SplittableRandom(3);
    int[][] orderCounts = new int[4][4];
    for (int t = 0; t < 4000; t++) {
      ColorJitter.Params p = jitter.sampleParams(rng);
      assertTrue(p.brightness() >= 0.6f && p.brightness() <= 1.4f);
      assertTrue(p.contrast() >= 0.6f && p.contrast() <= 1.4f);
      assertTrue(p.saturation() >= 0.8f && p.saturation() <= 1.2f);
      assertTrue(p.hue() >= -0.1f && p.hue() <= 0.1f);
      boolean[] seen = new boolean[4];
      for (int i = 0; i < 4; i++) {
        int op = p.order()[i];
        assertFalse(seen[op]);
        seen[op] = true;
        orderCounts[i][op]++;
      }
    }
    // Every op appears in every slot (randperm, not a fixed order): expected 1000 each, sd ~27.
    for (int[] slot : orderCounts) {
      for (int c : slot) {
        assertTrue(c > 850 && c < 1150, "slot count " + c);
      }
    }
    // Strength above 1: factor range starts at 0, not below. Zero strengths are disabled.
    ColorJitter strong = new ColorJitter(1.5, 0, 0, 0, 1.0);
    for (int t = 0; t < 1000; t++) {
      ColorJitter.Params p = strong.sampleParams(rng);
      assertTrue(p.brightness() >= 0f && p.brightness() <= 2.5f);
      assertTrue(Float.isNaN(p.contrast()) && Float.isNaN(p.saturation()) && Float.isNaN(p.hue()));
    }
  }

  @Test
  void jitterAppliesOpsInDrawnOrder() {
    // Brightness then contrast differs from contrast then brightness because of clamping.
    Image in = Image.wrap(1, 2, 1, new float[] {0.2f, 0.8f});
    Image bc =
        ColorJitter.apply(
            in, new ColorJitter.Params(new int[] {0, 1, 2, 3}, 2f, 0.5f, Float.NaN, Float.NaN));
    // brightness 2: (0.4, 1.0 clamped), mean 0.7; contrast 0.5: (0.55, 0.85)
    assertArrayEquals(new float[] {0.55f, 0.85f}, bc.data(), TOL);
    Image cb =
        ColorJitter.apply(
            in, new ColorJitter.Params(new int[] {1, 0, 3, 2}, 2f, 0.5f, Float.NaN, Float.NaN));
    // contrast 0.5 around mean 0.5: (0.35, 0.65); brightness 2: (0.7, 1.0 clamped)
    assertArrayEquals(new float[] {0.7f, 1.0f}, cb.data(), TOL);
    assertArrayEquals(new float[] {0.2f, 0.8f}, in.data(), "input was modified");
  }

  @Test
  void jitterProbability() {
    Image in = Image.wrap(1, 2, 3, new float[] {0.2f, 0.5f, 0.7f, 0.9f, 0.1f, 0.4f});
    SplittableRandom rng = new SplittableRandom(5);
    ColorJitter never = new ColorJitter(0.4, 0.4, 0.4, 0.1, 0.0);
    ColorJitter sometimes = new ColorJitter(0.4, 0.4, 0.4, 0.1, 0.8);
    int applied = 0;
    for (int t = 0; t < 2000; t++) {
      assertSame(in, never.apply(in, rng));
      if (sometimes.apply(in, rng) != in) {
        applied++;
      }
    }
    // Binomial(2000, 0.8): mean 1600, sd ~18.
    assertTrue(applied > 1500 && applied < 1700, "applied " + applied);
    assertNotSame(in, new ColorJitter(0.4, 0, 0, 0, 1.0).apply(in, rng));
  }
}
