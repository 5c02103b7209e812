package org.mimtf.data.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.Interpolation;
import org.mimtf.data.Image;

class GeometryTest {

  @Test
  void cropBoxesStayWithinScaleAndRatioRanges() {
    RandomResizedCrop rrc =
        new RandomResizedCrop(224, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, Interpolation.BICUBIC);
    SplittableRandom rng = new SplittableRandom(1);
    int height = 200;
    int width = 300;
    double imageArea = height * width;
    double minScale = 1;
    double maxScale = 0;
    double minLogRatio = 1;
    double maxLogRatio = -1;
    double sumScale = 0;
    int draws = 20000;
    for (int t = 0; t < draws; t++) {
      CropBox b = rrc.sampleBox(height, width, rng);
      assertTrue(b.top() >= 0 && b.left() >= 0, b.toString());
      assertTrue(b.top() + b.height() <= height && b.left() + b.width() <= width, b.toString());
      // w = round(sqrt(A r)) and h = round(sqrt(A / r)) are each within 1/2 of the exact values, so
      // A is in [(w-.5)(h-.5), (w+.5)(h+.5)] and r in [(w-.5)/(h+.5), (w+.5)/(h-.5)].
      double w = b.width();
      double h = b.height();
      assertTrue((w - 0.5) * (h - 0.5) <= 1.0 * imageArea, b.toString());
      assertTrue((w + 0.5) * (h + 0.5) >= 0.08 * imageArea, b.toString());
      assertTrue((w - 0.5) / (h + 0.5) <= 4.0 / 3.0, b.toString());
      assertTrue((w + 0.5) / (h - 0.5) >= 3.0 / 4.0, b.toString());
      double scale = b.area() / imageArea;
      minScale = Math.min(minScale, scale);
      maxScale = Math.max(maxScale, scale);
      sumScale += scale;
      minLogRatio = Math.min(minLogRatio, Math.log(b.ratio()));
      maxLogRatio = Math.max(maxLogRatio, Math.log(b.ratio()));
    }
    // The whole ranges are used (the largest box with ratio <= 4/3 on 200x300 is 200x267: 0.89).
    assertTrue(minScale < 0.09 && maxScale > 0.85, minScale + " " + maxScale);
    assertTrue(minLogRatio < Math.log(0.76) && maxLogRatio > Math.log(1.31));
    // Attempts are i.i.d., so an accepted box follows the uniform (scale, log ratio) distribution
    // conditioned on fitting: rint(sqrt(s A r)) <= W and rint(sqrt(s A / r)) <= H. Its mean scale,
    // integrated numerically here, must match the sample mean (standard error ~0.002).
    double num = 0;
    double den = 0;
    int grid = 1000;
    for (int i = 0; i < grid; i++) {
      double s = 0.08 + 0.92 * (i + 0.5) / grid;
      for (int j = 0; j < grid; j++) {
        double r = Math.exp(Math.log(0.75) + (Math.log(4.0 / 3.0) - Math.log(0.75)) * (j + 0.5) / grid);
        if (Math.sqrt(s * imageArea * r) < width + 0.5 && Math.sqrt(s * imageArea / r) < height + 0.5) {
          num += s;
          den += 1;
        }
      }
    }
    double expectedMean = num / den;
    double mean = sumScale / draws;
    assertEquals(expectedMean, mean, 0.01, "mean accepted scale");
    assertTrue(expectedMean < 0.53, "conditioning on fit should lower the mean: " + expectedMean);
  }

  @Test
  void fallbackIsCentredAndClampedToRatioRange() {
    RandomResizedCrop rrc =
        new RandomResizedCrop(224, 0.08, 1.0, 3.0 / 4.0, 4.0 / 3.0, Interpolation.BILINEAR);
    SplittableRandom rng = new SplittableRandom(2);
    // 10 x 1000: every attempt needs h >= round(sqrt(800 * 3/4)) = 24 > 10 rows, so all 10 fail.
    // in_ratio = 100 > 4/3: h = 10, w = round(10 * 4/3) = 13, left = (1000 - 13) // 2 = 493.
    assertEquals(new CropBox(0, 493, 10, 13), rrc.sampleBox(10, 1000, rng));
    // Transposed: w = 10, h = round(10 / (3/4)) = 13, top = 493.
    assertEquals(new CropBox(493, 0, 13, 10), rrc.sampleBox(1000, 10, rng));
    // Ratio in range but an impossible scale: the whole image.
    RandomResizedCrop tooBig =
        new RandomResizedCrop(8, 1.5, 2.0, 3.0 / 4.0, 4.0 / 3.0, Interpolation.BILINEAR);
    assertEquals(new CropBox(0, 0, 100, 90), tooBig.sampleBox(100, 90, rng));
  }

  @Test
  void fullBoxAtSameSizeIsIdentity() {
    float[] px = new float[8 * 8 * 3];
    for (int i = 0; i < px.length; i++) {
      px[i] = (i % 17) / 16f;
    }
    Image in = Image.wrap(8, 8, 3, px);
    RandomResizedCrop whole = new RandomResizedCrop(8, 1.0, 1.0, 1.0, 1.0, Interpolation.BICUBIC);
    Image out = whole.apply(in, new SplittableRandom(3));
    assertArrayEquals(px, out.data());
    RandomResizedCrop rrc = new RandomResizedCrop(5, 0.2, 1.0, 0.75, 1.33, Interpolation.BILINEAR);
    Image small = rrc.apply(in, new SplittableRandom(4));
    assertEquals(5, small.height());
    assertEquals(5, small.width());
    assertEquals(3, small.channels());
  }

  @Test
  void horizontalFlipMirrorsColumns() {
    // 2 x 3, 1 channel
    Image in = Image.wrap(2, 3, 1, new float[] {1, 2, 3, 4, 5, 6});
    assertArrayEquals(new float[] {3, 2, 1, 6, 5, 4}, HorizontalFlip.flip(in).data());
    // 1 x 2, 3 channels: pixels swap, channels stay in order.
    Image rgb = Image.wrap(1, 2, 3, new float[] {1, 2, 3, 4, 5, 6});
    assertArrayEquals(new float[] {4, 5, 6, 1, 2, 3}, HorizontalFlip.flip(rgb).data());
    SplittableRandom rng = new SplittableRandom(5);
    assertSame(in, new HorizontalFlip(0).apply(in, rng));
    assertArrayEquals(new float[] {3, 2, 1, 6, 5, 4}, new HorizontalFlip(1).apply(in, rng).data());
    int flipped = 0;
    HorizontalFlip half = new HorizontalFlip(0.5);
    for (int t = 0; t < 2000; t++) {
      if (half.apply(in, rng) != in) {
        flipped++;
      }
    }
    assertTrue(flipped > 900 && flipped < 1100, "flipped " + flipped);
  }

  @Test
  void resizeShorterSide() {
    Image in = Image.zeros(256, 320, 3);
    Image out = new Resize(224, Interpolation.BICUBIC).apply(in, new SplittableRandom(0));
    // int(224 * 320 / 256) = 280
    assertEquals(224, out.height());
    assertEquals(280, out.width());
    Image tall = Image.zeros(333, 100, 1);
    Image t = new Resize(64, Interpolation.BILINEAR).apply(tall, new SplittableRandom(0));
    // int(64 * 333 / 100) = int(213.12) = 213
    assertEquals(213, t.height());
    assertEquals(64, t.width());
    assertSame(in, new Resize(256, Interpolation.BILINEAR).apply(in, new SplittableRandom(0)));
  }

  @Test
  void centerCropOffsetsRoundHalfToEven() {
    float[] px = new float[16];
    for (int i = 0; i < 16; i++) {
      px[i] = i;
    }
    // 4x4 -> 3x3: offset round(0.5) = 0 (half to even), so rows/cols 0..2.
    Image out = new CenterCrop(3).apply(Image.wrap(4, 4, 1, px), new SplittableRandom(0));
    assertArrayEquals(new float[] {0, 1, 2, 4, 5, 6, 8, 9, 10}, out.data());
    // 4x4 -> 2x2: offset 1.
    Image out2 = new CenterCrop(2).apply(Image.wrap(4, 4, 1, px), new SplittableRandom(0));
    assertArrayEquals(new float[] {5, 6, 9, 10}, out2.data());
    // 2x2 -> 4x4: zero padding of (4-2)//2 = 1 on top/left and the rest at the bottom/right.
    Image small = Image.wrap(2, 2, 1, new float[] {1, 2, 3, 4});
    Image padded = new CenterCrop(4).apply(small, new SplittableRandom(0));
    assertArrayEquals(
        new float[] {0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0}, padded.data());
    // 2x5 -> 3x3: pad rows (top 0, bottom 1), crop columns at round(1.0) = 1.
    Image wide = Image.wrap(2, 5, 1, new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    Image mixed = new CenterCrop(3).apply(wide, new SplittableRandom(0));
    assertArrayEquals(new float[] {2, 3, 4, 7, 8, 9, 0, 0, 0}, mixed.data());
  }
}
