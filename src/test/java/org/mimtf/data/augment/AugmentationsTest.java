package org.mimtf.data.augment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.Augmentation.Builder;
import org.mimtf.config.proto.Interpolation;
import org.mimtf.data.Image;

class AugmentationsTest {

  private static org.mimtf.config.proto.Augmentation rrc(int size) {
    return org.mimtf.config.proto.Augmentation.newBuilder()
        .setRandomResizedCrop(
            org.mimtf.config.proto.RandomResizedCrop.newBuilder().setSize(size).build())
        .build();
  }

  private static org.mimtf.config.proto.Augmentation flip() {
    return org.mimtf.config.proto.Augmentation.newBuilder()
        .setHorizontalFlip(org.mimtf.config.proto.HorizontalFlip.getDefaultInstance())
        .build();
  }

  private static org.mimtf.config.proto.Augmentation jitter() {
    Builder b = org.mimtf.config.proto.Augmentation.newBuilder();
    b.getColorJitterBuilder().setHue(0.1f).setP(0.8f);
    return b.build();
  }

  private static org.mimtf.config.proto.Augmentation normalize() {
    return org.mimtf.config.proto.Augmentation.newBuilder()
        .setNormalize(org.mimtf.config.proto.Normalize.getDefaultInstance())
        .build();
  }

  private static List<org.mimtf.config.proto.Augmentation> strongView() {
    Builder gray = org.mimtf.config.proto.Augmentation.newBuilder();
    gray.getGrayscaleBuilder();
    Builder blur = org.mimtf.config.proto.Augmentation.newBuilder();
    blur.getGaussianBlurBuilder().setP(1.0f);
    Builder sol = org.mimtf.config.proto.Augmentation.newBuilder();
    sol.getSolarizeBuilder();
    return List.of(rrc(0), flip(), jitter(), gray.build(), blur.build(), sol.build(), normalize());
  }

  @Test
  void buildsEveryOpWithDefaults() {
    Chain chain = Augmentations.buildAll(strongView(), 32);
    List<Augmentation> ops = chain.ops();
    assertEquals(7, ops.size());
    assertInstanceOf(RandomResizedCrop.class, ops.get(0));
    assertEquals(32, ((RandomResizedCrop) ops.get(0)).size()); // size 0 -> default
    assertEquals(Interpolation.BICUBIC, ((RandomResizedCrop) ops.get(0)).interpolation());
    assertInstanceOf(HorizontalFlip.class, ops.get(1));
    assertInstanceOf(ColorJitter.class, ops.get(2));
    assertInstanceOf(RandomGrayscale.class, ops.get(3));
    assertInstanceOf(GaussianBlur.class, ops.get(4));
    assertInstanceOf(Solarize.class, ops.get(5));
    assertInstanceOf(Normalize.class, ops.get(6));
    assertEquals(2, chain.geometric().ops().size());
    assertEquals(5, chain.photometric().ops().size());
    assertTrue(chain.geometric().isGeometric());
    assertFalse(chain.isGeometric());

    Builder resize = org.mimtf.config.proto.Augmentation.newBuilder();
    resize.getResizeBuilder().setSize(40);
    Builder crop = org.mimtf.config.proto.Augmentation.newBuilder();
    crop.getCenterCropBuilder();
    Chain tokenizer = Augmentations.buildAll(List.of(resize.build(), crop.build()), 32);
    Image out = tokenizer.apply(Image.zeros(50, 60, 3), new SplittableRandom(0));
    assertEquals(32, out.height());
    assertEquals(32, out.width());
  }

  @Test
  void geometricOpsMustComeFirst() {
    List<org.mimtf.config.proto.Augmentation> bad = List.of(flip(), jitter(), rrc(0));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Augmentations.buildAll("data.view[1].augment", bad, 224));
    assertTrue(
        e.getMessage()
            .startsWith(
                "data.view[1].augment[2]: random_resized_crop must come before photometric ops"),
        e.getMessage());
    IllegalArgumentException e2 =
        assertThrows(
            IllegalArgumentException.class,
            () -> Augmentations.buildAll(List.of(normalize(), flip()), 224));
    assertTrue(
        e2.getMessage().startsWith("augment[1]: horizontal_flip must come before photometric ops"),
        e2.getMessage());
  }

  @Test
  void parameterErrorsNameTheOpAndField() {
    Builder b = org.mimtf.config.proto.Augmentation.newBuilder();
    b.getColorJitterBuilder().setHue(0.7f);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Augmentations.buildAll("data.view[0].augment", List.of(rrc(0), b.build()), 224));
    assertEquals(
        "data.view[0].augment[1]: color_jitter: hue (0.7) must be in [0, 0.5]", e.getMessage());
    Builder s = org.mimtf.config.proto.Augmentation.newBuilder();
    s.getRandomResizedCropBuilder().setMinScale(0.9f).setMaxScale(0.5f);
    e =
        assertThrows(
            IllegalArgumentException.class, () -> Augmentations.buildAll(List.of(s.build()), 224));
    assertEquals(
        "augment[0]: random_resized_crop: max_scale (0.5) must be >= min_scale (0.9)",
        e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Augmentations.buildAll(
                    List.of(org.mimtf.config.proto.Augmentation.getDefaultInstance()), 224));
    assertTrue(e.getMessage().contains("no augmentation op is set"), e.getMessage());
  }

  @Test
  void sameSeedSameOutputDifferentSeedDifferentOutput() {
    Chain chain = Augmentations.buildAll(strongView(), 24);
    float[] px = new float[40 * 48 * 3];
    SplittableRandom fill = new SplittableRandom(99);
    for (int i = 0; i < px.length; i++) {
      px[i] = (float) fill.nextDouble();
    }
    Image in = Image.wrap(40, 48, 3, px);
    for (long seed = 0; seed < 20; seed++) {
      Image a = chain.apply(in, new SplittableRandom(seed));
      Image b = chain.apply(in, new SplittableRandom(seed));
      assertArrayEquals(a.data(), b.data());
      Image c = chain.apply(in, new SplittableRandom(seed + 1000));
      assertFalse(java.util.Arrays.equals(a.data(), c.data()));
    }
    assertArrayEquals(px, in.data(), "the input image was modified");
  }

  @Test
  void inPlacePathOfChainMatchesOpByOpApplication() {
    // Chain lets ops work in place on images it created; results and random draws must be identical
    // to applying each op to a fresh copy.
    List<org.mimtf.config.proto.Augmentation> cfgs = strongView();
    Chain chain = Augmentations.buildAll(cfgs, 24);
    float[] px = new float[30 * 36 * 3];
    SplittableRandom fill = new SplittableRandom(5);
    for (int i = 0; i < px.length; i++) {
      px[i] = (float) fill.nextDouble();
    }
    Image in = Image.wrap(30, 36, 3, px);
    for (long seed = 0; seed < 30; seed++) {
      Image viaChain = chain.apply(in, new SplittableRandom(seed));
      SplittableRandom rng = new SplittableRandom(seed);
      Image img = in;
      for (Augmentation op : chain.ops()) {
        img = op.apply(img, rng);
      }
      assertArrayEquals(img.data(), viaChain.data(), "seed " + seed);
    }
    assertArrayEquals(px, in.data(), "the input image was modified");
  }

  @Test
  void sharedGeometryViewsReuseTheGeometricPrefix() {
    // ConMIM: weak = geometry + normalize; strong starts from the same geometric output.
    Chain weak = Augmentations.buildAll(List.of(rrc(16), flip(), normalize()), 16);
    Chain strong = Augmentations.buildAll(strongView(), 16);
    Image in = Image.wrap(20, 20, 3, new float[20 * 20 * 3]);
    SplittableRandom rng = new SplittableRandom(7);
    Image geo = weak.geometric().apply(in, rng);
    Image w = weak.photometric().apply(geo, rng);
    Image s = strong.photometric().apply(geo, rng);
    assertEquals(16, w.height());
    assertEquals(16, s.height());
  }
}
