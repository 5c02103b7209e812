package org.mimtf.data.augment;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds augmentation ops from the recipe's {@code mimtf.Augmentation} messages.
 *
 * <p>A size of 0 in the recipe means the model's image size ({@code defaultSize}). Float fields are
 * read as the decimals the recipe wrote (0.08, not 0.07999999821), so box and factor ranges match the
 * reference scripts' Python doubles.
 */
public final class Augmentations {
  private Augmentations() {}

  /** One op. Parameter errors name the offending field. */
  public static Augmentation build(org.mimtf.config.proto.Augmentation cfg, int defaultSize) {
    checkArgument(defaultSize > 0, "default image size (%s) must be > 0", defaultSize);
    switch (cfg.getOpCase()) {
      case RANDOM_RESIZED_CROP -> {
        var c = cfg.getRandomResizedCrop();
        return new RandomResizedCrop(
            c.getSize() == 0 ? defaultSize : c.getSize(),
            decimal(c.getMinScale()),
            decimal(c.getMaxScale()),
            decimal(c.getMinRatio()),
            decimal(c.getMaxRatio()),
            c.getInterpolation());
      }
      case RESIZE -> {
        var c = cfg.getResize();
        return new Resize(c.getSize() == 0 ? defaultSize : c.getSize(), c.getInterpolation());
      }
      case CENTER_CROP -> {
        var c = cfg.getCenterCrop();
        return new CenterCrop(c.getSize() == 0 ? defaultSize : c.getSize());
      }
      case HORIZONTAL_FLIP -> {
        return new HorizontalFlip(decimal(cfg.getHorizontalFlip().getP()));
      }
      case COLOR_JITTER -> {
        var c = cfg.getColorJitter();
        return new ColorJitter(
            decimal(c.getBrightness()),
            decimal(c.getContrast()),
            decimal(c.getSaturation()),
            decimal(c.getHue()),
            decimal(c.getP()));
      }
      case GRAYSCALE -> {
        return new RandomGrayscale(decimal(cfg.getGrayscale().getP()));
      }
      case GAUSSIAN_BLUR -> {
        var c = cfg.getGaussianBlur();
        return new GaussianBlur(
            decimal(c.getP()), decimal(c.getMinSigma()), decimal(c.getMaxSigma()));
      }
      case SOLARIZE -> {
        var c = cfg.getSolarize();
        return new Solarize(decimal(c.getP()), c.getThreshold());
      }
      case NORMALIZE -> {
        var c = cfg.getNormalize();
        return new Normalize(toArray(c.getMeanList()), toArray(c.getStdList()));
      }
      case RANDOM_ERASING -> {
        var c = cfg.getRandomErasing();
        return new RandomErasing(
            decimal(c.getP()),
            decimal(c.getMinArea()),
            decimal(c.getMaxArea()),
            decimal(c.getMinAspect()),
            decimal(c.getMaxAspect()),
            c.getMode() == org.mimtf.config.proto.RandomErasing.Mode.CONST
                ? RandomErasing.Mode.CONST
                : RandomErasing.Mode.PIXEL,
            c.getMaxCount(),
            toArray(c.getMeanList()),
            toArray(c.getStdList()));
      }
      case RAND_AUGMENT -> {
        var c = cfg.getRandAugment();
        float[] fill =
            c.getFillCount() == 0
                ? new float[] {124 / 255f, 116 / 255f, 104 / 255f}
                : toArray(c.getFillList());
        return RandAugment.parse(
            c.getConfig(), decimal(c.getProb()), decimal(c.getTranslatePct()), fill);
      }
      case OP_NOT_SET -> throw new IllegalArgumentException("no augmentation op is set");
    }
    throw new IllegalArgumentException("unsupported augmentation op " + cfg.getOpCase());
  }

  /** {@link #buildAll(String, List, int)} with error messages prefixed by {@code augment}. */
  public static Chain buildAll(List<org.mimtf.config.proto.Augmentation> cfgs, int defaultSize) {
    return buildAll("augment", cfgs, defaultSize);
  }

  /**
   * All ops of one view, in order, as a {@link Chain}. Checks that every geometric op comes before
   * every photometric one (a view with {@code geometry_from} reuses the geometric prefix of another
   * view, so the split must be clean). Errors read like {@code data.view[1].augment[2]:
   * random_resized_crop must come before photometric ops}.
   *
   * @param where recipe path of the list, e.g. {@code data.view[1].augment}
   */
  public static Chain buildAll(
      String where, List<org.mimtf.config.proto.Augmentation> cfgs, int defaultSize) {
    List<Augmentation> ops = new ArrayList<>(cfgs.size());
    String firstPhotometric = null;
    for (int i = 0; i < cfgs.size(); i++) {
      org.mimtf.config.proto.Augmentation cfg = cfgs.get(i);
      String name = opName(cfg);
      Augmentation op;
      try {
        op = build(cfg, defaultSize);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            where + "[" + i + "]: " + name + ": " + e.getMessage(), e);
      }
      if (op.isGeometric() && firstPhotometric != null) {
        throw new IllegalArgumentException(
            where
                + "["
                + i
                + "]: "
                + name
                + " must come before photometric ops (it follows "
                + firstPhotometric
                + ")");
      }
      if (!op.isGeometric() && firstPhotometric == null) {
        firstPhotometric = name + " at [" + i + "]";
      }
      ops.add(op);
    }
    return Chain.of(ops);
  }

  /** The recipe's field name of the op that is set, e.g. {@code random_resized_crop}. */
  static String opName(org.mimtf.config.proto.Augmentation cfg) {
    if (cfg.getOpCase() == org.mimtf.config.proto.Augmentation.OpCase.OP_NOT_SET) {
      return "(empty)";
    }
    return org.mimtf.config.proto.Augmentation.getDescriptor()
        .findFieldByNumber(cfg.getOpCase().getNumber())
        .getName();
  }

  /** The decimal value written in the recipe for a float field. */
  static double decimal(float value) {
    return Double.parseDouble(Float.toString(value));
  }

  private static float[] toArray(List<Float> values) {
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }
}
