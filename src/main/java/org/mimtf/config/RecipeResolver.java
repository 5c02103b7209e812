package org.mimtf.config;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import org.mimtf.config.proto.Augmentation;
import org.mimtf.config.proto.Beitv2Config;
import org.mimtf.config.proto.BlockMasking;
import org.mimtf.config.proto.ComplementaryMasking;
import org.mimtf.config.proto.HorizontalFlip;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.RandomResizedCrop;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.ViewConfig;
import org.mimtf.data.masking.BlockMaskGenerator;
import org.mimtf.data.masking.ComplementaryMaskGenerator;

/**
 * Turns a recipe as written into the resolved recipe a run uses: derived values are written out
 * (ViT size to width/depth/heads, mask ratios to patch counts — block masking's M and its cap, MOCA's
 * visible and predicted token counts —, default view, run directory), so that
 * the run directory's copy of the recipe is complete and no Java code needs to re-derive a default.
 */
public final class RecipeResolver {
  /** ImageNet channel statistics (common-vit.md §14). */
  static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};

  static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

  private RecipeResolver() {}

  /** Returns the resolved copy of {@code r}. Validation runs on the result. */
  public static Recipe resolve(Recipe r) {
    Recipe.Builder b = r.toBuilder();
    String name = r.getName().isEmpty() ? "run" : r.getName();
    b.setName(name);
    ModelConfig model = resolveModel(b.getModel(), null);
    b.setModel(model);
    if (b.getData().getViewCount() == 0) {
      b.getDataBuilder().addView(defaultView(model));
    }
    int cells = gridCells(model);
    if (b.getMasking().hasBlock() && cells > 0) {
      BlockMasking.Builder bm = b.getMaskingBuilder().getBlockBuilder();
      if (bm.getNumMaskingPatches() == 0 && bm.getMaskRatio() >= 0 && bm.getMaskRatio() < 1) {
        // (a ratio outside [0, 1) is left for the validator to name)
        bm.setNumMaskingPatches(BlockMaskGenerator.countFromRatio(bm.getMaskRatio(), cells));
      }
      if (bm.getMaxNumPatches() == 0) {
        bm.setMaxNumPatches(Math.max(1, bm.getNumMaskingPatches()));
      }
    }
    if (b.getMasking().hasComplementary() && cells > 0) {
      ComplementaryMasking.Builder cm = b.getMaskingBuilder().getComplementaryBuilder();
      float r1 = cm.getFirstMaskRatio();
      float r2 = cm.getSecondMaskRatio();
      float pd = cm.getPartialDecodingRatio();
      if (r1 >= 0 && r1 < 1 && r2 >= 0 && r2 < 1 && pd >= 0 && pd <= 1) { // else the validator names the ratio
        int[] c = ComplementaryMaskGenerator.counts(cells, r1, r2, pd);
        cm.setNumVisibleFirst(c[0]).setNumVisibleSecond(c[1]).setNumPredicted(c[2]);
      }
    }
    if (b.getTraining().getRunDir().isEmpty()) {
      b.getTrainingBuilder().setRunDir("runs/" + name);
    }
    if (b.getExport().getName().isEmpty()) {
      b.getExportBuilder().setName(name);
    }
    if (r.hasBeitv2()) {
      Beitv2Config.Vqkd.Builder v = b.getBeitv2Builder().getTokenizerBuilder();
      v.setEncoder(resolveModel(v.getEncoder(), model));
      if (!v.hasData()) {
        v.setData(b.getData());
      }
      if (v.getData().getViewCount() == 0) {
        v.getDataBuilder().addView(defaultView(v.getEncoder()));
      }
    }
    return explicitDefaults(b.build());
  }

  /**
   * Resolves a ViT config. With a {@code parent}, geometry fields the child does not set (image size,
   * patch size, channels, input normalisation) are inherited, as a tokenizer encoder must see the
   * student's images.
   */
  static ModelConfig resolveModel(ModelConfig m, ModelConfig parent) {
    ModelConfig.Builder b = m.toBuilder();
    if (parent != null) {
      if (!m.hasImageSize()) {
        b.setImageSize(parent.getImageSize());
      }
      if (!m.hasPatchSize()) {
        b.setPatchSize(parent.getPatchSize());
      }
      if (!m.hasChannels()) {
        b.setChannels(parent.getChannels());
      }
      if (m.getInputMeanCount() == 0 && m.getInputStdCount() == 0 && !m.hasIdentityNormalization()) {
        b.addAllInputMean(parent.getInputMeanList());
        b.addAllInputStd(parent.getInputStdList());
        b.setIdentityNormalization(parent.getIdentityNormalization());
      }
    }
    int[] dims = sizeDims(m.getSize());
    if (dims != null) {
      if (!m.hasWidth()) {
        b.setWidth(dims[0]);
      }
      if (!m.hasDepth()) {
        b.setDepth(dims[1]);
      }
      if (!m.hasNumHeads()) {
        b.setNumHeads(dims[2]);
      }
    }
    if (b.getMlpDim() == 0 && b.getWidth() > 0) {
      b.setMlpDim(Math.round(b.getMlpRatio() * b.getWidth()));
    }
    if (!b.getIdentityNormalization() && b.getInputMeanCount() == 0 && b.getInputStdCount() == 0) {
      for (int c = 0; c < b.getChannels(); c++) {
        b.addInputMean(b.getChannels() == 3 ? IMAGENET_MEAN[c] : 0.5f);
        b.addInputStd(b.getChannels() == 3 ? IMAGENET_STD[c] : 0.5f);
      }
    }
    return b.build();
  }

  /**
   * Width, depth, heads of the named sizes (ViT paper Table 1 for B/L, DeiT Table 1 for Ti/S), or
   * null for CUSTOM.
   */
  static int[] sizeDims(ModelConfig.Size size) {
    return switch (size) {
      case TINY -> new int[] {192, 12, 3};
      case SMALL -> new int[] {384, 12, 6};
      case BASE -> new int[] {768, 12, 12};
      case LARGE -> new int[] {1024, 24, 16};
      default -> null;
    };
  }

  static int gridCells(ModelConfig m) {
    int g = m.getPatchSize() > 0 ? m.getImageSize() / m.getPatchSize() : 0;
    return g * g;
  }

  private static ViewConfig defaultView(ModelConfig model) {
    return ViewConfig.newBuilder()
        .setName("image")
        .addAugment(Augmentation.newBuilder()
            .setRandomResizedCrop(RandomResizedCrop.newBuilder().setSize(model.getImageSize())))
        .addAugment(Augmentation.newBuilder().setHorizontalFlip(HorizontalFlip.getDefaultInstance()))
        .build();
  }

  /**
   * Writes every default out explicitly in each message that is present, so that printing the recipe
   * shows every value the run uses (proto2 text format omits unset fields).
   */
  @SuppressWarnings("unchecked")
  public static <M extends Message> M explicitDefaults(M message) {
    Message.Builder b = message.toBuilder();
    fill(b);
    return (M) b.build();
  }

  private static void fill(Message.Builder b) {
    for (FieldDescriptor f : b.getDescriptorForType().getFields()) {
      boolean inOneof = f.getContainingOneof() != null;
      if (f.isRepeated()) {
        if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
          for (int i = 0; i < b.getRepeatedFieldCount(f); i++) {
            fill(b.getRepeatedFieldBuilder(f, i));
          }
        }
        continue;
      }
      if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
        // Sections of the top-level recipe always appear; nested messages only where written.
        boolean topSection = b.getDescriptorForType().getFullName().equals("mimtf.Recipe") && !inOneof;
        if (b.hasField(f) || topSection) {
          fill(b.getFieldBuilder(f));
        }
      } else if (!b.hasField(f) && !inOneof) {
        b.setField(f, f.getDefaultValue());
      }
    }
  }
}
