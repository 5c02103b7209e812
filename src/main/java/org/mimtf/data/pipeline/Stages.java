package org.mimtf.data.pipeline;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.List;
import org.mimtf.config.proto.Interpolation;
import org.mimtf.data.BadInputException;
import org.mimtf.data.Image;
import org.mimtf.data.augment.CenterCrop;
import org.mimtf.data.augment.Chain;
import org.mimtf.data.augment.Resize;
import org.mimtf.data.decode.ImageDecoder;
import org.mimtf.data.masking.BlockMaskGenerator;
import org.mimtf.data.masking.ComplementaryMaskGenerator;
import org.mimtf.data.masking.RandomMaskGenerator;
import org.mimtf.data.masking.ReplacementSampler;

/**
 * The pipeline's stages: decode, views, masks, labels. Each is small; {@code PipelineFactory} composes
 * them from a recipe, and a method adds its own (CCViT's replacement positions) through
 * {@code MimMethod.extraStages()}.
 */
public final class Stages {
  /** Intermediate value: the decoded image (recipe channel count). */
  public static final String DECODED = "decoded";

  private Stages() {}

  /** Decodes the record (or takes its pixels) and converts it to {@code channels}. */
  public static SampleStage decode(ImageDecoder decoder, int channels) {
    return SampleStage.of(List.of(), ctx -> {
      var r = ctx.record();
      Image img = r.pixels() != null ? r.pixels() : decoder.decode(r.encoded(), channels, r.origin());
      ctx.put(DECODED, toChannels(img, channels));
    });
  }

  /** Replicates gray to RGB or takes the ITU-R 601 luma of RGB (as PIL's convert('L')). */
  public static Image toChannels(Image img, int channels) {
    if (img.channels() == channels) {
      return img;
    }
    int hw = img.height() * img.width();
    float[] src = img.data();
    float[] out = new float[hw * channels];
    if (channels == 3) {
      for (int i = 0; i < hw; i++) {
        out[3 * i] = src[i];
        out[3 * i + 1] = src[i];
        out[3 * i + 2] = src[i];
      }
    } else {
      for (int i = 0; i < hw; i++) {
        out[i] = 0.299f * src[3 * i] + 0.587f * src[3 * i + 1] + 0.114f * src[3 * i + 2];
      }
    }
    return Image.wrap(img.height(), img.width(), channels, out);
  }

  /**
   * A view: applies {@code chain} to the decoded image (or, with {@code geometryFrom}, only its
   * photometric ops to that view's post-geometry image) and writes field {@code name}
   * [size, size, channels]. Each view draws from its own random stream.
   */
  public static SampleStage view(String name, Chain chain, String geometryFrom, int size, int channels) {
    FieldSpec spec = FieldSpec.of(name, FieldSpec.DType.FLOAT32, size, size, channels);
    Chain geometric = chain.geometric();
    Chain photometric = chain.photometric();
    return SampleStage.of(List.of(spec), ctx -> {
      var rng = ctx.rng("view:" + name);
      Image base;
      if (geometryFrom == null || geometryFrom.isEmpty()) {
        base = geometric.apply(ctx.get(DECODED), rng);
      } else {
        base = ctx.get("geometry:" + geometryFrom);
      }
      ctx.put("geometry:" + name, base);
      Image out = photometric.apply(base, rng);
      if (out.height() != size || out.width() != size || out.channels() != channels) {
        throw new BadInputException(ctx.record().origin(), "view '" + name + "' produced a " + out.height() + "x"
            + out.width() + "x" + out.channels() + " image, the model needs " + size + "x" + size + "x" + channels
            + " (add random_resized_crop or center_crop to data.view '" + name + "')");
      }
      ctx.write(name, out.data());
    });
  }

  /**
   * The evaluation view: images already at the model's size pass unchanged; others are resized
   * (shorter side to size/0.875, bicubic) and centre-cropped, the standard ImageNet evaluation.
   */
  public static SampleStage evalView(String name, int size, int channels) {
    FieldSpec spec = FieldSpec.of(name, FieldSpec.DType.FLOAT32, size, size, channels);
    Chain resize = Chain.of(new Resize(Math.round(size / 0.875f), Interpolation.BICUBIC), new CenterCrop(size));
    return SampleStage.of(List.of(spec), ctx -> {
      Image img = ctx.get(DECODED);
      if (img.height() != size || img.width() != size) {
        img = resize.apply(img, ctx.rng("eval"));
      }
      ctx.write(name, img.data());
    });
  }

  /** BEiT block mask into field {@code mask} [N] (also left for later stages). */
  public static SampleStage blockMask(BlockMaskGenerator g) {
    int n = g.gridH() * g.gridW();
    return maskStage(n, ctx -> g.generate(ctx.rng("mask")));
  }

  /** Random (unit) mask into field {@code mask} [N]. */
  public static SampleStage randomMask(RandomMaskGenerator g) {
    int n = g.gridH() * g.gridW();
    return maskStage(n, ctx -> g.generate(ctx.rng("mask")));
  }

  private static SampleStage maskStage(int n, java.util.function.Function<SampleContext, boolean[]> gen) {
    FieldSpec spec = FieldSpec.of("mask", FieldSpec.DType.BOOL, n);
    return SampleStage.of(List.of(spec), ctx -> {
      boolean[] m = gen.apply(ctx);
      ctx.put("mask", m);
      ctx.write("mask", m);
    });
  }

  /**
   * MOCA's complementary masks, one pair of token orders per copy (one copy per student view): fields
   * {@code order1} and {@code order2} int32 [copies, N].
   */
  public static SampleStage complementaryMasks(ComplementaryMaskGenerator g, int copies) {
    int n = g.numTokens();
    FieldSpec o1 = FieldSpec.of("order1", FieldSpec.DType.INT32, copies, n);
    FieldSpec o2 = FieldSpec.of("order2", FieldSpec.DType.INT32, copies, n);
    return SampleStage.of(List.of(o1, o2), ctx -> {
      int[] a = new int[copies * n];
      int[] b = new int[copies * n];
      for (int c = 0; c < copies; c++) {
        var m = g.generate(ctx.rng("complementary:" + c));
        System.arraycopy(m.order1(), 0, a, c * n, n);
        System.arraycopy(m.order2(), 0, b, c * n, n);
      }
      ctx.write("order1", a);
      ctx.write("order2", b);
    });
  }

  /**
   * CCViT's replaced positions: {@code count} positions chosen uniformly among the unmasked ones of
   * the mask left by an earlier stage ({@code maskName}), written to {@code field} [N].
   */
  public static SampleStage replacement(String field, String maskName, int n, int count) {
    checkArgument(count >= 0, "replacement count (%s) must be >= 0", count);
    FieldSpec spec = FieldSpec.of(field, FieldSpec.DType.BOOL, n);
    return SampleStage.of(List.of(spec), ctx -> {
      boolean[] mask = ctx.get(maskName);
      ctx.write(field, ReplacementSampler.sample(mask, count, ctx.rng("replacement")));
    });
  }

  /** Reserves batch fields that are filled after batching (by a method's {@code BatchModel}). */
  public static SampleStage reserve(FieldSpec... specs) {
    return SampleStage.of(List.of(specs), ctx -> {});
  }

  /** The class label into field {@code label} (int32 scalar per example). */
  public static SampleStage label(int numClasses) {
    return SampleStage.of(List.of(FieldSpec.of("label", FieldSpec.DType.INT32)), ctx -> {
      int l = ctx.record().label();
      if (numClasses > 0 && (l < 0 || l >= numClasses)) {
        throw new BadInputException(ctx.record().origin(), "label " + l + " is outside [0, " + numClasses + ")");
      }
      ctx.writeInt("label", Math.max(l, 0));
    });
  }
}
