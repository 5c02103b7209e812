package org.mimtf.data.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.data.Image;

/** timm's RandomErasing: box bounds, untouched outside, probability. */
class RandomErasingTest {
  private static final int H = 32;
  private static final int W = 40;

  private static Image ramp(int c) {
    float[] px = new float[H * W * c];
    for (int i = 0; i < px.length; i++) {
      px[i] = (i % 251) / 250f;
    }
    return Image.wrap(H, W, c, px);
  }

  private static RandomErasing constFill(double p, float fill) {
    return new RandomErasing(
        p, 0.02, 1.0 / 3, 0.3, 0, RandomErasing.Mode.CONST, 1, new float[] {fill}, new float[0]);
  }

  /** The box timm's _erase draws, replayed by hand from the same generator: {top, left, h, w}. */
  private static int[] handBox(SplittableRandom r) {
    assertTrue(r.nextDouble() < 1.0);
    double area = H * W;
    for (int attempt = 0; attempt < 10; attempt++) {
      double target = (0.02 + (1.0 / 3 - 0.02) * r.nextDouble()) * area;
      double lo = Math.log(0.3);
      double hi = Math.log(1 / 0.3);
      double aspect = Math.exp(lo + (hi - lo) * r.nextDouble());
      int h = (int) Math.round(Math.sqrt(target * aspect));
      int w = (int) Math.round(Math.sqrt(target / aspect));
      if (w < W && h < H) {
        int top = r.nextInt(H - h + 1);
        int left = r.nextInt(W - w + 1);
        return new int[] {top, left, h, w};
      }
    }
    return null;
  }

  @Test
  void erasedBoxWithinBoundsAndOutsideUntouched() {
    Image in = ramp(3);
    float[] before = in.data().clone();
    for (long seed = 0; seed < 50; seed++) {
      Image out = constFill(1.0, -1f).apply(in, new SplittableRandom(seed));
      int[] box = handBox(new SplittableRandom(seed));
      int top = box[0];
      int left = box[1];
      int h = box[2];
      int w = box[3];
      // h = round(sqrt(area * aspect)), w = round(sqrt(area / aspect)) with area in [0.02, 1/3] of
      // the image and aspect in [0.3, 1/0.3]: the drawn (area, aspect) lie in the intervals that
      // rounding to (h, w) allows.
      assertTrue((h + 0.5) * (w + 0.5) >= 0.02 * H * W, "box " + h + "x" + w + " too small");
      assertTrue((h - 0.5) * (w - 0.5) <= H * W / 3.0, "box " + h + "x" + w + " too large");
      assertTrue((h + 0.5) / (w - 0.5) >= 0.3, "box " + h + "x" + w + " too flat");
      assertTrue((h - 0.5) / (w + 0.5) <= 1 / 0.3, "box " + h + "x" + w + " too tall");
      assertTrue(top >= 0 && left >= 0 && top + h <= H && left + w <= W);
      int erased = 0;
      for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
          boolean inside = y >= top && y < top + h && x >= left && x < left + w;
          for (int k = 0; k < 3; k++) {
            int i = (y * W + x) * 3 + k;
            if (inside) {
              assertEquals(-1f, out.data()[i], "seed " + seed + " (" + y + ", " + x + ")");
              erased++;
            } else {
              assertEquals(before[i], out.data()[i], "seed " + seed + " (" + y + ", " + x + ")");
            }
          }
        }
      }
      assertEquals(h * w * 3, erased);
    }
    assertArrayEquals(before, in.data(), "input must not be modified");
  }

  @Test
  void pixelModeIsNoiseWithChannelMeanAndStd() {
    Image in = Image.zeros(H, W, 3);
    var op =
        new RandomErasing(
            1.0, 0.3, 0.3, 1.0, 1.0, RandomErasing.Mode.PIXEL, 1,
            new float[] {0.5f, 0.4f, 0.3f}, new float[] {0.1f, 0.2f, 0.3f});
    Image out = op.apply(in, new SplittableRandom(7));
    double[] sum = new double[3];
    double[] sq = new double[3];
    int n = 0;
    for (int i = 0; i < out.data().length; i += 3) {
      if (out.data()[i] != 0f) {
        n++;
        for (int k = 0; k < 3; k++) {
          sum[k] += out.data()[i + k];
          sq[k] += out.data()[i + k] * out.data()[i + k];
        }
      }
    }
    // Square box of round(sqrt(0.3 * 1280)) = 20 pixels a side.
    assertEquals(400, n);
    float[] m = {0.5f, 0.4f, 0.3f};
    float[] s = {0.1f, 0.2f, 0.3f};
    for (int k = 0; k < 3; k++) {
      double mean = sum[k] / n;
      double sd = Math.sqrt(sq[k] / n - mean * mean);
      assertEquals(m[k], mean, 4 * s[k] / Math.sqrt(n));
      assertEquals(s[k], sd, 0.15 * s[k]);
    }
  }

  @Test
  void probabilityZeroIsIdentity() {
    Image in = ramp(1);
    RandomErasing never = constFill(0.0, -1f);
    for (long seed = 0; seed < 200; seed++) {
      assertSame(in, never.apply(in, new SplittableRandom(seed)));
    }
  }

  @Test
  void rateMatchesProbability() {
    Image in = ramp(1);
    RandomErasing op = constFill(0.25, -1f);
    int n = 4000;
    int erased = 0;
    SplittableRandom rng = new SplittableRandom(123);
    for (int i = 0; i < n; i++) {
      Image out = op.apply(in, rng);
      if (out != in) {
        erased++;
        assertNotEquals(0, countEqual(out.data(), -1f));
      }
    }
    // sd of the rate: sqrt(0.25 * 0.75 / 4000) = 0.0068; 4 sd.
    assertEquals(0.25, erased / (double) n, 0.028);
  }

  @Test
  void builtFromRecipeWithTimmDefaults() {
    var cfg = org.mimtf.config.proto.Augmentation.newBuilder();
    cfg.getRandomErasingBuilder().setP(0.25f);
    Augmentation op = Augmentations.build(cfg.build(), 32);
    assertInstanceOf(RandomErasing.class, op);
    String s = op.toString();
    assertTrue(s.contains("p=0.25") && s.contains("area=[0.02, 0.333333]")
        && s.contains("mode=PIXEL") && s.contains("max_count=1"), s);
    var bad = org.mimtf.config.proto.Augmentation.newBuilder();
    bad.getRandomErasingBuilder().setMinArea(0.5f).setMaxArea(0.1f);
    var e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Augmentations.buildAll("data.view[0].augment", java.util.List.of(bad.build()), 32));
    assertTrue(e.getMessage().startsWith("data.view[0].augment[0]: random_erasing: area range"),
        e.getMessage());
  }

  private static int countEqual(float[] px, float v) {
    int n = 0;
    for (float f : px) {
      if (f == v) {
        n++;
      }
    }
    return n;
  }
}
