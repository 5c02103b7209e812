package org.mimtf.data.augment;

/**
 * The photometric primitives of torchvision 0.14's tensor functional API ({@code
 * torchvision/transforms/functional_tensor.py}), in float32 arithmetic like the tensor code, working
 * in place on HWC float arrays with values in [0, 1].
 *
 * <p>Why the tensor formulas: they are defined on continuous values (no 8-bit rounding between
 * steps), so they carry over to float images unchanged; {@code _blend} clamps to [0, 1] after every
 * op, which is what keeps jittered images in range. The only deliberate deviation is in {@link #hue},
 * which multiplies by reciprocals where torch divides (same formulas, differences at float rounding
 * level) because the divisions dominate the cost of the op.
 */
public final class ColorOps {
  /** ITU-R 601-2 luma weights, as {@code rgb_to_grayscale} (and PIL's {@code convert("L")}). */
  public static final float LUMA_R = 0.299f;

  public static final float LUMA_G = 0.587f;
  public static final float LUMA_B = 0.114f;

  private ColorOps() {}

  /** Luma of one RGB pixel. */
  public static float luma(float r, float g, float b) {
    return LUMA_R * r + LUMA_G * g + LUMA_B * b;
  }

  /** Clamp to [0, 1] in scalar code (compiles to compares, cheaper than scalar Math.min/max). */
  private static float clamp01(float v) {
    return v < 0f ? 0f : (v > 1f ? 1f : v);
  }

  /**
   * Clamp to [0, 1] in element-wise loops: {@code Math.min/max} are intrinsics that the JIT vectorises
   * there, several times faster than a compare-and-branch clamp.
   */
  private static float clampVec(float v) {
    return Math.min(1f, Math.max(0f, v));
  }

  /** {@code adjust_brightness}: {@code _blend(img, 0, f) = clamp(f * x)}. */
  public static void brightness(float[] px, float factor) {
    for (int i = 0; i < px.length; i++) {
      px[i] = clampVec(factor * px[i]);
    }
  }

  /**
   * {@code adjust_contrast}: blend with the mean of the grayscale image (one scalar for the whole
   * image), {@code clamp(f * x + (1 - f) * mean)}. For one channel the mean of the image itself.
   */
  public static void contrast(float[] px, int channels, float factor) {
    double sum = 0;
    if (channels == 3) {
      for (int i = 0; i < px.length; i += 3) {
        sum += luma(px[i], px[i + 1], px[i + 2]);
      }
    } else {
      for (float v : px) {
        sum += v;
      }
    }
    float mean = (float) (sum / (px.length / channels));
    float offset = (1f - factor) * mean;
    for (int i = 0; i < px.length; i++) {
      px[i] = clampVec(factor * px[i] + offset);
    }
  }

  /**
   * {@code adjust_saturation}: blend every pixel with its own luma, {@code clamp(f * x + (1 - f) *
   * L)}. Identity for one channel (torchvision: "match PIL behaviour").
   */
  public static void saturation(float[] px, int channels, float factor) {
    if (channels != 3) {
      return;
    }
    float g = 1f - factor;
    for (int i = 0; i < px.length; i += 3) {
      float l = g * luma(px[i], px[i + 1], px[i + 2]);
      px[i] = clamp01(factor * px[i] + l);
      px[i + 1] = clamp01(factor * px[i + 1] + l);
      px[i + 2] = clamp01(factor * px[i + 2] + l);
    }
  }

  /**
   * {@code adjust_hue}: convert to HSV ({@code _rgb2hsv}), {@code h = (h + shift) mod 1}, convert back
   * ({@code _hsv2rgb}). Identity for one channel. {@code shift} in [-0.5, 0.5].
   */
  public static void hue(float[] px, int channels, float shift) {
    if (channels != 3) {
      return;
    }
    // Plain compares and a switch: on natural images neighbouring pixels take the same branches, and
    // this beats branch-free selects (Math.max/min and table lookups measured ~1.5x slower on smooth
    // images; only on white noise do the branches mispredict enough to lose).
    for (int i = 0; i < px.length; i += 3) {
      float r = px[i];
      float g = px[i + 1];
      float b = px[i + 2];
      // _rgb2hsv
      float maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
      float minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
      boolean eqc = maxc == minc;
      float cr = maxc - minc;
      float s = cr / (eqc ? 1f : maxc);
      // torch divides (maxc - x) by cr for all three channels and h by 6; multiplying by reciprocals
      // computes the same quantities with 2 instead of 5 divisions per pixel (results agree to float
      // rounding, ~1e-7), which is most of this op's cost.
      float inv = 1f / (eqc ? 1f : cr);
      float h;
      if (maxc == r) {
        h = (maxc - b) * inv - (maxc - g) * inv; // bc - gc
      } else if (maxc == g) {
        h = 2f + (maxc - r) * inv - (maxc - b) * inv; // 2 + rc - bc
      } else {
        h = 4f + (maxc - g) * inv - (maxc - r) * inv; // 4 + gc - rc
      }
      // torch: h = fmod(h / 6 + 1, 1), then h = (h + shift) mod 1. Both are the fractional part of
      // h / 6 + shift; the +2 keeps the argument positive (h / 6 >= -1/6, shift >= -1/2), so one
      // truncating cast computes it.
      h = h * (1f / 6f) + (shift + 2f);
      h = h - (int) h;
      // _hsv2rgb
      float v = maxc;
      float h6 = h * 6f;
      int sector = (int) h6; // h6 >= 0, so the cast is floor
      float f = h6 - sector;
      float p = v * (1f - s);
      float q = v * (1f - s * f);
      float t = v * (1f - s * (1f - f));
      if (v > 1f || minc < 0f) {
        // torch clamps p, q, t to [0, 1]; for inputs in [0, 1] they are already in range (s, f in
        // [0, 1]), so the clamps only run for out-of-range pixels.
        p = clamp01(p);
        q = clamp01(q);
        t = clamp01(t);
      }
      switch (sector % 6) {
        case 0 -> {
          px[i] = v;
          px[i + 1] = t;
          px[i + 2] = p;
        }
        case 1 -> {
          px[i] = q;
          px[i + 1] = v;
          px[i + 2] = p;
        }
        case 2 -> {
          px[i] = p;
          px[i + 1] = v;
          px[i + 2] = t;
        }
        case 3 -> {
          px[i] = p;
          px[i + 1] = q;
          px[i + 2] = v;
        }
        case 4 -> {
          px[i] = t;
          px[i + 1] = p;
          px[i + 2] = v;
        }
        default -> {
          px[i] = v;
          px[i + 1] = p;
          px[i + 2] = q;
        }
      }
    }
  }

  /** {@code rgb_to_grayscale(img, 3)}: every channel of a pixel set to its luma (into {@code dst}). */
  public static void grayscale3(float[] src, float[] dst) {
    for (int i = 0; i < src.length; i += 3) {
      float l = luma(src[i], src[i + 1], src[i + 2]);
      dst[i] = l;
      dst[i + 1] = l;
      dst[i + 2] = l;
    }
  }
}
