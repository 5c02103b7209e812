package org.mimtf.finetune;

import java.util.SplittableRandom;
import org.mimtf.config.proto.MixupConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.api.BatchModel;

/**
 * Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) on a training batch, with the semantics of
 * timm's {@code timm.data.Mixup}: each batch (BATCH mode) or each example (ELEMENT mode) is mixed
 * with probability {@code prob}; when both alphas are positive CutMix is chosen with probability
 * {@code switch_prob}; λ ~ Beta(α, α). Example i is mixed with example B−1−i (the flipped batch).
 * Mixup: {@code x_i ← λ x_i + (1 − λ) x_{B−1−i}}. CutMix: a box with sides
 * {@code int(H √(1−λ))} × {@code int(W √(1−λ))} centred at a uniform pixel, clipped to the image, is
 * pasted from x_{B−1−i}; with {@code correct_lam} λ becomes 1 − box area / image area. Targets
 * {@code λ y_i + (1 − λ) y_{B−1−i}} of label-smoothed one-hots, written to field {@value #TARGET}.
 *
 * <p>Runs on the host as a {@link BatchModel} (the trainer calls it on every batch it feeds). Its
 * random draws are a function of the seed and the batch's first element index only, so a resumed
 * run mixes exactly as an uninterrupted one.
 */
public final class Mixup implements BatchModel {
  public static final String TARGET = "target";

  private final MixupConfig cfg;
  private final int classes;
  private final float smoothing;
  private final long seed;
  private final String imageField;

  /** One example's draw: λ after correction, and the CutMix box [y0, y1) × [x0, x1) (empty for Mixup). */
  public record Draw(double lambda, boolean cutmix, int y0, int y1, int x0, int x1) {}

  public Mixup(MixupConfig cfg, int classes, float smoothing, long seed, String imageField) {
    this.cfg = cfg;
    this.classes = classes;
    this.smoothing = smoothing;
    this.seed = seed;
    this.imageField = imageField;
  }

  @Override
  public FieldSpec field() {
    return FieldSpec.of(TARGET, FieldSpec.DType.FLOAT32, classes);
  }

  @Override
  public void fill(Batch b) {
    FieldSpec img = b.spec(imageField);
    long[] shape = img.batchShape(1);
    int h = (int) shape[1];
    int w = (int) shape[2];
    int c = (int) shape[3];
    mix(b.floats(imageField), b.ints("label"), b.floats(TARGET), b.size(), h, w, c,
        new SplittableRandom(seed * 0x9E3779B97F4A7C15L + b.firstElement()));
  }

  /**
   * Mixes {@code images} [n, h, w, c] in place and writes the targets [n, classes]; returns each
   * example's draw (for tests).
   */
  public Draw[] mix(float[] images, int[] labels, float[] targets, int n, int h, int w, int c, SplittableRandom rng) {
    Draw[] draws = new Draw[n];
    if (cfg.getMode() == MixupConfig.Mode.BATCH) {
      Draw d = draw(rng, h, w);
      java.util.Arrays.fill(draws, d);
    } else {
      for (int i = 0; i < n; i++) {
        draws[i] = draw(rng, h, w);
      }
    }
    int per = h * w * c;
    float[] orig = images.clone();
    for (int i = 0; i < n; i++) {
      Draw d = draws[i];
      int j = n - 1 - i;
      if (d.lambda() == 1.0) {
        continue;
      }
      if (d.cutmix()) {
        for (int y = d.y0(); y < d.y1(); y++) {
          System.arraycopy(orig, j * per + (y * w + d.x0()) * c, images, i * per + (y * w + d.x0()) * c,
              (d.x1() - d.x0()) * c);
        }
      } else {
        float lam = (float) d.lambda();
        for (int k = 0; k < per; k++) {
          images[i * per + k] = orig[i * per + k] * lam + orig[j * per + k] * (1f - lam);
        }
      }
    }
    float off = smoothing / classes;
    float on = 1f - smoothing + off;
    for (int i = 0; i < n; i++) {
      float lam = (float) draws[i].lambda();
      int j = n - 1 - i;
      for (int k = 0; k < classes; k++) {
        float yi = labels[i] == k ? on : off;
        float yj = labels[j] == k ? on : off;
        targets[i * classes + k] = yi * lam + yj * (1f - lam);
      }
    }
    return draws;
  }

  /** timm's {@code _params_per_batch} / {@code _params_per_elem} plus the CutMix box. */
  Draw draw(SplittableRandom rng, int h, int w) {
    if (!(rng.nextDouble() < cfg.getProb())) {
      return new Draw(1.0, false, 0, 0, 0, 0);
    }
    boolean cutmix;
    double lam;
    if (cfg.getMixupAlpha() > 0 && cfg.getCutmixAlpha() > 0) {
      cutmix = rng.nextDouble() < cfg.getSwitchProb();
      lam = beta(rng, cutmix ? cfg.getCutmixAlpha() : cfg.getMixupAlpha());
    } else if (cfg.getMixupAlpha() > 0) {
      cutmix = false;
      lam = beta(rng, cfg.getMixupAlpha());
    } else {
      cutmix = true;
      lam = beta(rng, cfg.getCutmixAlpha());
    }
    if (!cutmix) {
      return new Draw(lam, false, 0, 0, 0, 0);
    }
    // timm rand_bbox (margin 0): cut = int(size * sqrt(1 - lam)), centre uniform in [0, size)
    double ratio = Math.sqrt(1 - lam);
    int cutH = (int) (h * ratio);
    int cutW = (int) (w * ratio);
    int cy = rng.nextInt(h);
    int cx = rng.nextInt(w);
    int y0 = clip(cy - cutH / 2, h);
    int y1 = clip(cy + cutH / 2, h);
    int x0 = clip(cx - cutW / 2, w);
    int x1 = clip(cx + cutW / 2, w);
    if (cfg.getCorrectLam()) {
      lam = 1.0 - (double) (y1 - y0) * (x1 - x0) / ((double) h * w);
    }
    return new Draw(lam, true, y0, y1, x0, x1);
  }

  private static int clip(int v, int max) {
    return Math.max(0, Math.min(max, v));
  }

  /** Beta(a, a) as X / (X + Y) with X, Y ~ Gamma(a, 1). */
  static double beta(SplittableRandom rng, double a) {
    double x = gamma(rng, a);
    double y = gamma(rng, a);
    return x / (x + y);
  }

  /** Gamma(a, 1) by Marsaglia and Tsang (2000); a < 1 through Gamma(a + 1) · U^(1/a). */
  static double gamma(SplittableRandom rng, double a) {
    if (a < 1) {
      double u = rng.nextDouble();
      return gamma(rng, a + 1) * Math.pow(u, 1.0 / a);
    }
    double d = a - 1.0 / 3;
    double c = 1 / Math.sqrt(9 * d);
    while (true) {
      double x;
      double v;
      do {
        x = normal(rng);
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      double u = rng.nextDouble();
      if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
        return d * v;
      }
    }
  }

  private static double normal(SplittableRandom rng) {
    double u1 = rng.nextDouble();
    double u2 = rng.nextDouble();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }

  @Override
  public void close() {}
}
