package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.List;
import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * timm's {@code RandAugment} (Cubuk et al. 2020, timm {@code rand_augment_transform}), as the BEiT
 * family fine-tunes with {@code --aa rand-m9-mstd0.5-inc1}: per image, {@code num_ops} ops drawn
 * uniformly with replacement from the 15 ops below; each op runs with probability {@code prob} (timm
 * 0.5) at a magnitude drawn from N(m, mstd) clipped to [0, 10] (the level denominator), and the
 * signed ops (rotate, shear, translate, the enhance factors of the increasing set) flip their sign with
 * probability 0.5.
 *
 * <p>Ops and level → argument (level {@code l} in [0, 10]), timm's {@code _RAND_INCREASING_TRANSFORMS}
 * ({@code inc1}) or {@code _RAND_TRANSFORMS} ({@code inc0}):
 *
 * <ul>
 *   <li>AutoContrast, Equalize, Invert: no argument (PIL ImageOps; Equalize on the 8-bit histogram).
 *   <li>Rotate: ±30·l/10 degrees about the centre. ShearX/Y: ±0.3·l/10. TranslateX/YRel: ±{@code
 *       translate_pct}·l/10 of the width/height (timm 0.45). Affine warps as PIL's {@code
 *       Image.transform(AFFINE, BILINEAR)} (timm picks bilinear or bicubic at random; mimtf always
 *       uses bilinear): pixel centres, edge clamp, {@code fill} outside.
 *   <li>Posterize: bits {@code 4 - int(4·l/10)} (inc1) or {@code int(4·l/10)} (inc0; ≥ 8 = off).
 *   <li>Solarize: threshold {@code 256 - int(256·l/10)} (inc1) or {@code int(256·l/10)} (inc0) of 256.
 *   <li>SolarizeAdd: add {@code int(110·l/10)}/255 to values below 128/255.
 *   <li>Color, Contrast, Brightness, Sharpness: PIL ImageEnhance factor {@code 1 ± 0.9·l/10} (inc1) or
 *       {@code 1.8·l/10 + 0.1} (inc0). Color, Contrast and Brightness reuse {@link ColorOps}
 *       (torchvision's float formulas: the contrast mean is not rounded to 8 bits as PIL does);
 *       Sharpness blends with PIL's SMOOTH 3×3 kernel (1 1 1 / 1 5 1 / 1 1 1, /13), border kept.
 * </ul>
 *
 * <p>Images are floats in [0, 1]; the 8-bit ops (Posterize, Equalize, Solarize thresholds) quantise
 * with {@code round(255·v)}, exact for decoded 8-bit images. Photometric and geometric ops are mixed,
 * so the op counts as geometric (it must come before photometric ops and belongs to the shared
 * geometry of views with {@code geometry_from}); timm applies it after crop and flip and before
 * ToTensor, the same place.
 */
public final class RandAugment implements Augmentation {
  /** The op names, in timm's order. */
  public static final List<String> OPS =
      List.of(
          "AutoContrast",
          "Equalize",
          "Invert",
          "Rotate",
          "Posterize",
          "Solarize",
          "SolarizeAdd",
          "Color",
          "Contrast",
          "Brightness",
          "Sharpness",
          "ShearX",
          "ShearY",
          "TranslateX",
          "TranslateY");

  private static final double LEVEL_DENOM = 10;

  private final int numOps;
  private final double magnitude;
  private final double magnitudeStd;
  private final boolean increasing;
  private final double prob;
  private final double translatePct;
  private final float[] fill;

  /**
   * @param fill per-channel value outside warped images (length 1 or 3); timm uses the ImageNet mean
   *     in 8 bits, (124, 116, 104) / 255
   */
  public RandAugment(
      int numOps,
      double magnitude,
      double magnitudeStd,
      boolean increasing,
      double prob,
      double translatePct,
      float[] fill) {
    checkArgument(numOps >= 0, "num_ops (%s) must be >= 0", numOps);
    checkArgument(
        magnitude >= 0 && magnitude <= LEVEL_DENOM, "magnitude (%s) must be in [0, 10]", magnitude);
    checkArgument(magnitudeStd >= 0, "magnitude_std (%s) must be >= 0", magnitudeStd);
    checkArgument(prob >= 0 && prob <= 1, "prob (%s) must be in [0, 1]", prob);
    checkArgument(
        translatePct >= 0 && translatePct <= 1, "translate_pct (%s) must be in [0, 1]", translatePct);
    checkArgument(fill.length == 1 || fill.length == 3, "fill needs 1 or 3 values");
    this.numOps = numOps;
    this.magnitude = magnitude;
    this.magnitudeStd = magnitudeStd;
    this.increasing = increasing;
    this.prob = prob;
    this.translatePct = translatePct;
    this.fill = fill.clone();
  }

  /**
   * Parses timm's config string, e.g. {@code rand-m9-mstd0.5-inc1} (keys m, n, mstd, inc; others
   * are refused). Defaults: n 2, m 10, mstd 0, inc 0 as timm.
   */
  public static RandAugment parse(String config, double prob, double translatePct, float[] fill) {
    String[] parts = config.split("-");
    checkArgument(
        parts.length > 0 && parts[0].equals("rand"),
        "config (%s) must start with 'rand', e.g. rand-m9-mstd0.5-inc1",
        config);
    int n = 2;
    double m = 10;
    double mstd = 0;
    boolean inc = false;
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i];
      try {
        if (p.startsWith("mstd")) {
          mstd = Double.parseDouble(p.substring(4));
        } else if (p.startsWith("inc")) {
          inc = Integer.parseInt(p.substring(3)) != 0;
        } else if (p.startsWith("m")) {
          m = Double.parseDouble(p.substring(1));
        } else if (p.startsWith("n")) {
          n = Integer.parseInt(p.substring(1));
        } else {
          throw new IllegalArgumentException(
              "config (" + config + "): unknown part '" + p + "' (expected m, n, mstd, inc)");
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "config (" + config + "): part '" + p + "' has no number", e);
      }
    }
    return new RandAugment(n, m, mstd, inc, prob, translatePct, fill);
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    Image img = in;
    for (int k = 0; k < numOps; k++) {
      String op = OPS.get(rng.nextInt(OPS.size()));
      if (prob < 1 && rng.nextDouble() > prob) {
        continue;
      }
      double level = magnitude;
      if (magnitudeStd > 0) {
        level = magnitude + magnitudeStd * rng.nextGaussian();
      }
      level = Math.max(0, Math.min(LEVEL_DENOM, level));
      img = applyOp(op, img, level, rng);
    }
    return img;
  }

  /** One op at {@code level} in [0, 10], drawing the sign of signed ops from {@code rng}. */
  Image applyOp(String op, Image img, double level, RandomGenerator rng) {
    double f = level / LEVEL_DENOM;
    return switch (op) {
      case "AutoContrast" -> autoContrast(img);
      case "Equalize" -> equalize(img);
      case "Invert" -> invert(img);
      case "Rotate" -> rotate(img, negate(30 * f, rng), fill);
      case "Posterize" -> posterize(img, increasing ? 4 - (int) (4 * f) : (int) (4 * f));
      case "Solarize" ->
          Solarize.solarize(img, (increasing ? 256 - (int) (256 * f) : (int) (256 * f)) / 255f);
      case "SolarizeAdd" -> solarizeAdd(img, (int) (110 * f), 128);
      case "Color" -> enhance(img, "Color", factor(f, rng));
      case "Contrast" -> enhance(img, "Contrast", factor(f, rng));
      case "Brightness" -> enhance(img, "Brightness", factor(f, rng));
      case "Sharpness" -> sharpness(img, (float) factor(f, rng));
      case "ShearX" -> affine(img, 1, negate(0.3 * f, rng), 0, 0, 1, 0, fill);
      case "ShearY" -> affine(img, 1, 0, 0, negate(0.3 * f, rng), 1, 0, fill);
      case "TranslateX" ->
          affine(img, 1, 0, negate(translatePct * f, rng) * img.width(), 0, 1, 0, fill);
      case "TranslateY" ->
          affine(img, 1, 0, 0, 0, 1, negate(translatePct * f, rng) * img.height(), fill);
      default -> throw new IllegalArgumentException("unknown RandAugment op " + op);
    };
  }

  private double factor(double f, RandomGenerator rng) {
    return increasing ? 1 + negate(0.9 * f, rng) : 1.8 * f + 0.1;
  }

  /** timm's {@code _randomly_negate}: {@code -v if random.random() > 0.5 else v}. */
  private static double negate(double v, RandomGenerator rng) {
    return rng.nextDouble() > 0.5 ? -v : v;
  }

  private static Image copy(Image in) {
    return Image.wrap(in.height(), in.width(), in.channels(), in.data().clone());
  }

  private static int q8(float v) {
    return Math.max(0, Math.min(255, Math.round(v * 255f)));
  }

  static Image invert(Image in) {
    Image out = copy(in);
    float[] px = out.data();
    for (int i = 0; i < px.length; i++) {
      px[i] = 1f - px[i];
    }
    return out;
  }

  /** PIL ImageOps.posterize: keeps the top {@code bits} bits of each 8-bit value. */
  static Image posterize(Image in, int bits) {
    if (bits >= 8) {
      return in;
    }
    int mask = ~((1 << (8 - bits)) - 1) & 0xff;
    Image out = copy(in);
    float[] px = out.data();
    for (int i = 0; i < px.length; i++) {
      px[i] = (q8(px[i]) & mask) / 255f;
    }
    return out;
  }

  /** timm's solarize_add: values below {@code threshold}/255 get {@code add}/255, capped at 1. */
  static Image solarizeAdd(Image in, int add, int threshold) {
    Image out = copy(in);
    float[] px = out.data();
    float t = threshold / 255f;
    for (int i = 0; i < px.length; i++) {
      if (px[i] < t) {
        px[i] = Math.min(1f, px[i] + add / 255f);
      }
    }
    return out;
  }

  /** PIL ImageOps.autocontrast (cutoff 0): each channel's min to 0 and max to 1. */
  static Image autoContrast(Image in) {
    Image out = copy(in);
    float[] px = out.data();
    int c = in.channels();
    for (int k = 0; k < c; k++) {
      float lo = Float.POSITIVE_INFINITY;
      float hi = Float.NEGATIVE_INFINITY;
      for (int i = k; i < px.length; i += c) {
        lo = Math.min(lo, px[i]);
        hi = Math.max(hi, px[i]);
      }
      if (hi <= lo) {
        continue;
      }
      float scale = 1f / (hi - lo);
      for (int i = k; i < px.length; i += c) {
        px[i] = (px[i] - lo) * scale;
      }
    }
    return out;
  }

  /** PIL ImageOps.equalize: per channel, the 8-bit histogram's cumulative lookup table. */
  static Image equalize(Image in) {
    Image out = copy(in);
    float[] px = out.data();
    int c = in.channels();
    for (int k = 0; k < c; k++) {
      int[] hist = new int[256];
      for (int i = k; i < px.length; i += c) {
        hist[q8(px[i])]++;
      }
      int total = 0;
      int last = 0;
      int nonZero = 0;
      for (int v = 0; v < 256; v++) {
        if (hist[v] > 0) {
          total += hist[v];
          last = hist[v];
          nonZero++;
        }
      }
      int step = (total - last) / 256;
      if (nonZero <= 1 || step == 0) {
        continue;
      }
      int[] lut = new int[256];
      int n = step / 2;
      for (int v = 0; v < 256; v++) {
        lut[v] = Math.min(255, n / step);
        n += hist[v];
      }
      for (int i = k; i < px.length; i += c) {
        px[i] = lut[q8(px[i])] / 255f;
      }
    }
    return out;
  }

  private static Image enhance(Image in, String which, double factor) {
    Image out = copy(in);
    switch (which) {
      case "Color" -> ColorOps.saturation(out.data(), in.channels(), (float) factor);
      case "Contrast" -> ColorOps.contrast(out.data(), in.channels(), (float) factor);
      default -> ColorOps.brightness(out.data(), (float) factor);
    }
    return out;
  }

  /**
   * PIL ImageEnhance.Sharpness: blend {@code degenerate + factor * (img - degenerate)}, clamped to [0,
   * 1], where the degenerate image is the SMOOTH-filtered image with its 1-pixel border unchanged.
   */
  static Image sharpness(Image in, float factor) {
    int h = in.height();
    int w = in.width();
    int c = in.channels();
    float[] src = in.data();
    float[] out = src.clone();
    for (int y = 1; y < h - 1; y++) {
      for (int x = 1; x < w - 1; x++) {
        for (int k = 0; k < c; k++) {
          float sum = 0;
          for (int dy = -1; dy <= 1; dy++) {
            for (int dx = -1; dx <= 1; dx++) {
              sum += src[((y + dy) * w + (x + dx)) * c + k] * (dx == 0 && dy == 0 ? 5 : 1);
            }
          }
          int i = (y * w + x) * c + k;
          float degenerate = sum / 13f;
          out[i] = Math.max(0f, Math.min(1f, degenerate + factor * (src[i] - degenerate)));
        }
      }
    }
    return Image.wrap(h, w, c, out);
  }

  /** PIL's {@code Image.rotate(degrees)} (counter-clockwise, about the centre, same size). */
  static Image rotate(Image in, double degrees, float[] fill) {
    double a = -Math.toRadians(degrees);
    double cos = Math.cos(a);
    double sin = Math.sin(a);
    double cx = in.width() / 2.0;
    double cy = in.height() / 2.0;
    // PIL: matrix (cos, sin, 0, -sin, cos, 0) about the centre.
    double c = cos * -cx + sin * -cy + cx;
    double f = -sin * -cx + cos * -cy + cy;
    return affine(in, cos, sin, c, -sin, cos, f, fill);
  }

  /**
   * PIL's {@code Image.transform(size, AFFINE, (a, b, c, d, e, f), BILINEAR)}: output pixel (x, y)
   * samples the input at {@code (a·x' + b·y' + c, d·x' + e·y' + f)} with {@code x' = x + 0.5}, {@code
   * y' = y + 0.5} (pixel centres); sample points outside {@code [0, W) x [0, H)} get {@code fill},
   * the others are interpolated bilinearly between pixel centres with neighbours clamped to the
   * image (PIL's BILINEAR_HEAD / XCLIP).
   */
  static Image affine(
      Image in, double a, double b, double c, double d, double e, double f, float[] fill) {
    int h = in.height();
    int w = in.width();
    int ch = in.channels();
    float[] src = in.data();
    float[] out = new float[src.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        double uc = a * (x + 0.5) + b * (y + 0.5) + c;
        double vc = d * (x + 0.5) + e * (y + 0.5) + f;
        int o = (y * w + x) * ch;
        if (uc < 0 || uc >= w || vc < 0 || vc >= h) {
          for (int k = 0; k < ch; k++) {
            out[o + k] = fill[fill.length == 1 ? 0 : k];
          }
          continue;
        }
        double u = uc - 0.5;
        double v = vc - 0.5;
        int x0 = (int) Math.floor(u);
        int y0 = (int) Math.floor(v);
        double dx = u - x0;
        double dy = v - y0;
        int xa = Math.max(0, Math.min(w - 1, x0));
        int xb = Math.max(0, Math.min(w - 1, x0 + 1));
        int ya = Math.max(0, Math.min(h - 1, y0));
        int yb = Math.max(0, Math.min(h - 1, y0 + 1));
        for (int k = 0; k < ch; k++) {
          double top = src[(ya * w + xa) * ch + k] * (1 - dx) + src[(ya * w + xb) * ch + k] * dx;
          double bot = src[(yb * w + xa) * ch + k] * (1 - dx) + src[(yb * w + xb) * ch + k] * dx;
          out[o + k] = (float) (top * (1 - dy) + bot * dy);
        }
      }
    }
    return Image.wrap(h, w, ch, out);
  }

  @Override
  public boolean isGeometric() {
    return true;
  }

  @Override
  public String toString() {
    return "RandAugment(n=" + numOps + ", m=" + magnitude + ", mstd=" + magnitudeStd + ", inc="
        + (increasing ? 1 : 0) + ", prob=" + prob + ")";
  }
}
