package org.mimtf.data.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.Interpolation;
import org.mimtf.data.Image;

/**
 * Expected values are worked out by hand from Pillow's {@code precompute_coeffs} (see {@link
 * Resampler}); the derivations are in the comments.
 */
class ResamplerTest {
  private static final float TOL = 1e-6f;

  @Test
  void bilinearUpscale2x2To4x4() {
    // Upscaling: scale = 0.5, support 1. Per axis the weights of outputs 0..3 on inputs (0, 1) are
    // (1, 0), (0.75, 0.25), (0.25, 0.75), (0, 1): e.g. output 1 has center 0.75 and taps
    // triangle(0 - 0.75 + 0.5) = 0.75 and triangle(1 - 0.75 + 0.5) = 0.25 (align_corners=False with
    // edge clamping).
    Image in = Image.wrap(2, 2, 1, new float[] {0f, 0.4f, 0.8f, 1.0f});
    Image out = Resampler.resize(in, 4, 4, Interpolation.BILINEAR);
    // rows after the horizontal pass: [0, .1, .3, .4] and [.8, .85, .95, 1]; then blend vertically.
    float[] expected = {
      0f, 0.1f, 0.3f, 0.4f,
      0.2f, 0.2875f, 0.4625f, 0.55f,
      0.6f, 0.6625f, 0.7875f, 0.85f,
      0.8f, 0.85f, 0.95f, 1.0f
    };
    assertArrayEquals(expected, out.data(), TOL);
  }

  @Test
  void bilinearDownscaleIsAntialiased() {
    // 4 -> 2: scale 2, filter scale 2, support 2. Output 0: center 1, taps x = 0..2 with
    // triangle((x - 1 + 0.5) / 2) = 0.75, 0.75, 0.25 (sum 1.75). Output 1: center 3, taps x = 1..3
    // with 0.25, 0.75, 0.75. Plain (non-antialiased) bilinear would give 0.1 and 0.8 instead.
    Image in = Image.wrap(1, 4, 1, new float[] {0f, 0.2f, 0.6f, 1.0f});
    Image out = Resampler.resize(in, 1, 2, Interpolation.BILINEAR);
    float a = (0.75f * 0f + 0.75f * 0.2f + 0.25f * 0.6f) / 1.75f;
    float b = (0.25f * 0.2f + 0.75f * 0.6f + 0.75f * 1.0f) / 1.75f;
    assertArrayEquals(new float[] {a, b}, out.data(), TOL);
    assertEquals(0.3f / 1.75f, a, TOL);
    assertEquals(1.25f / 1.75f, b, TOL);

    // Separable in 2-D: in[i][j] = v[i] * v[j] resizes to out[r][c] = h[r] * h[c].
    float[] v = {0f, 0.2f, 0.6f, 1.0f};
    float[] px = new float[16];
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 4; j++) {
        px[i * 4 + j] = v[i] * v[j];
      }
    }
    Image out2 = Resampler.resize(Image.wrap(4, 4, 1, px), 2, 2, Interpolation.BILINEAR);
    assertArrayEquals(new float[] {a * a, a * b, b * a, b * b}, out2.data(), TOL);
  }

  @Test
  void bicubicDownscaleUsesWidenedKernel() {
    // 4 -> 2 bicubic: support 2 * 2 = 4. Output 0: center 1, taps x = 0..3, arguments
    // (x - 0.5) / 2 = -0.25, 0.25, 0.75, 1.25 with cubic(0.25) = 0.8671875, cubic(0.75) = 0.2265625,
    // cubic(1.25) = -0.0703125 (a = -0.5); sum 1.890625. Output 1 is the mirror image.
    Image in = Image.wrap(1, 4, 1, new float[] {0f, 0.2f, 0.6f, 1.0f});
    Image out = Resampler.resize(in, 1, 2, Interpolation.BICUBIC);
    float a = (0.8671875f * 0.2f + 0.2265625f * 0.6f - 0.0703125f * 1.0f) / 1.890625f;
    float b = (0.2265625f * 0.2f + 0.8671875f * 0.6f + 0.8671875f * 1.0f) / 1.890625f;
    assertArrayEquals(new float[] {a, b}, out.data(), TOL);
    assertEquals(0.8671875, Resampler.cubic(0.25), 1e-12);
    assertEquals(0.2265625, Resampler.cubic(0.75), 1e-12);
    assertEquals(-0.0703125, Resampler.cubic(1.25), 1e-12);
  }

  @Test
  void bicubicOvershootIsClipped() {
    // A step edge upscaled with the a = -0.5 kernel overshoots; PIL stores 8-bit values, so it clips.
    Image in = Image.wrap(1, 4, 1, new float[] {0f, 0f, 1f, 1f});
    Image out = Resampler.resize(in, 1, 16, Interpolation.BICUBIC);
    for (float v : out.data()) {
      assertEquals(Math.min(1f, Math.max(0f, v)), v);
    }
    float min = 1f;
    float max = 0f;
    for (float v : out.data()) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assertEquals(0f, min);
    assertEquals(1f, max);
  }

  @Test
  void nearestPicksPillowSourceIndex() {
    // source = (int)((x + 0.5) * scale): 4 -> 2 reads 1 and 3; 2 -> 4 reads 0, 0, 1, 1.
    Image in = Image.wrap(1, 4, 1, new float[] {0f, 0.2f, 0.6f, 1.0f});
    assertArrayEquals(
        new float[] {0.2f, 1.0f}, Resampler.resize(in, 1, 2, Interpolation.NEAREST).data());
    Image small = Image.wrap(1, 2, 1, new float[] {0.3f, 0.7f});
    assertArrayEquals(
        new float[] {0.3f, 0.3f, 0.7f, 0.7f},
        Resampler.resize(small, 1, 4, Interpolation.NEAREST).data());
  }

  @Test
  void cropBoxIsResizedWithoutMaterialising() {
    // Resizing a crop must equal cropping first, then resizing (torchvision's resized_crop).
    int h = 13;
    int w = 17;
    float[] px = new float[h * w * 3];
    for (int i = 0; i < px.length; i++) {
      px[i] = ((i * 37) % 101) / 100f;
    }
    Image in = Image.wrap(h, w, 3, px);
    CropBox box = new CropBox(2, 3, 9, 11);
    float[] crop = new float[9 * 11 * 3];
    for (int y = 0; y < 9; y++) {
      System.arraycopy(px, ((y + 2) * w + 3) * 3, crop, y * 11 * 3, 11 * 3);
    }
    Image cropped = Image.wrap(9, 11, 3, crop);
    for (Interpolation interp : Interpolation.values()) {
      for (int[] size : new int[][] {{5, 7}, {20, 6}, {9, 4}, {4, 11}, {9, 11}}) {
        assertArrayEquals(
            Resampler.resize(cropped, size[0], size[1], interp).data(),
            Resampler.resize(in, box, size[0], size[1], interp).data(),
            TOL,
            interp + " " + size[0] + "x" + size[1]);
      }
    }
  }

  @Test
  void rgbKernelsAgreeWithSingleChannelPath() {
    // The interleaved-RGB horizontal kernels (unrolled for 1-5 taps, generic beyond) must give, per
    // channel, what the single-channel path gives (that one is checked against Pillow).
    int h = 40;
    int w = 44;
    SplittableRandom rng = new SplittableRandom(21);
    float[][] planes = new float[3][h * w];
    float[] rgb = new float[h * w * 3];
    for (int i = 0; i < h * w; i++) {
      for (int c = 0; c < 3; c++) {
        planes[c][i] = (float) rng.nextDouble();
        rgb[i * 3 + c] = planes[c][i];
      }
    }
    Image color = Image.wrap(h, w, 3, rgb);
    CropBox box = new CropBox(3, 5, 31, 37);
    // output widths giving 1 (nearest), 2-3 (bilinear), 4-5 (bicubic) and many taps (strong downscale)
    int[][] sizes = {{31, 50}, {20, 33}, {45, 30}, {8, 5}, {31, 37}, {3, 90}};
    for (Interpolation interp : Interpolation.values()) {
      for (int[] size : sizes) {
        Image out = Resampler.resize(color, box, size[0], size[1], interp);
        for (int c = 0; c < 3; c++) {
          Image plane =
              Resampler.resize(Image.wrap(h, w, 1, planes[c]), box, size[0], size[1], interp);
          for (int i = 0; i < size[0] * size[1]; i++) {
            String what = interp + " " + size[0] + "x" + size[1];
            assertEquals(plane.data()[i], out.data()[i * 3 + c], 1e-6f, what);
          }
        }
      }
    }
  }

  @Test
  void identityResizeReturnsSamePixels() {
    float[] px = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    Image in = Image.wrap(2, 3, 1, px);
    for (Interpolation interp : Interpolation.values()) {
      assertArrayEquals(px, Resampler.resize(in, 2, 3, interp).data());
    }
  }

  @Test
  void constantImageStaysConstantForEveryFilterAndScale() {
    float[] px = new float[10 * 12 * 3];
    java.util.Arrays.fill(px, 0.37f);
    Image in = Image.wrap(10, 12, 3, px);
    for (Interpolation interp : Interpolation.values()) {
      for (int[] size : new int[][] {{3, 4}, {25, 31}, {10, 5}, {7, 12}}) {
        for (float v : Resampler.resize(in, size[0], size[1], interp).data()) {
          assertEquals(0.37f, v, 1e-6f);
        }
      }
    }
  }

  @Test
  void rejectsBoxOutsideImage() {
    Image in = Image.zeros(4, 4, 1);
    assertThrows(
        IllegalArgumentException.class,
        () -> Resampler.resize(in, new CropBox(1, 1, 4, 2), 2, 2, Interpolation.BILINEAR));
  }
}
