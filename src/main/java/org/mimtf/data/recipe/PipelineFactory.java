package org.mimtf.data.recipe;

import java.util.ArrayList;
import java.util.List;
import org.mimtf.config.proto.DataConfig;
import org.mimtf.config.proto.MaskingConfig;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.Recipe;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.config.proto.ViewConfig;
import org.mimtf.data.augment.Augmentations;
import org.mimtf.data.augment.Chain;
import org.mimtf.data.decode.ImageDecoder;
import org.mimtf.data.decode.ImageDecoders;
import org.mimtf.data.masking.BlockMaskGenerator;
import org.mimtf.data.masking.ComplementaryMaskGenerator;
import org.mimtf.data.masking.RandomMaskGenerator;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.data.pipeline.PipelineOptions;
import org.mimtf.data.pipeline.SampleStage;
import org.mimtf.data.pipeline.StagedProcessor;
import org.mimtf.data.pipeline.Stages;
import org.mimtf.data.source.SkippingPolicy;
import org.mimtf.data.source.Source;
import org.mimtf.data.source.Sources;

/**
 * Builds pipelines from recipes: the one place that turns {@code data}, {@code masking} and
 * {@code model} settings into stages. Methods add their own stages; everything else is shared.
 */
public final class PipelineFactory {
  private PipelineFactory() {}

  /**
   * The training pipeline: decode → each view → the recipe's mask → {@code extra} stages → label,
   * endless and shuffled, starting at element {@code start} (resume).
   */
  public static Pipeline training(Recipe r, List<SampleStage> extra, long start) {
    return training(r.getData(), r.getModel(), r.getMasking(), r.getTraining().getBatchSize(),
        r.getTraining().getSeed(), extra, start);
  }

  public static Pipeline training(DataConfig data, ModelConfig model, MaskingConfig masking, int batchSize, long seed,
      List<SampleStage> extra, long start) {
    Source source = Sources.open(data.getSource(), null, "data.source");
    ImageDecoder decoder = ImageDecoders.create(data.getDecoder(), data.getWorkers());
    List<SampleStage> stages = new ArrayList<>();
    stages.add(Stages.decode(decoder, model.getChannels()));
    for (int i = 0; i < data.getViewCount(); i++) {
      ViewConfig v = data.getView(i);
      Chain chain = Augmentations.buildAll("data.view[" + i + "].augment", v.getAugmentList(), model.getImageSize());
      stages.add(Stages.view(v.getName(), chain, v.getGeometryFrom(), model.getImageSize(), model.getChannels()));
    }
    stages.addAll(maskStages(masking, model, data.getViewCount()));
    stages.addAll(extra);
    stages.add(Stages.label(source.numClasses()));
    PipelineOptions opts = PipelineOptions.training(batchSize, data.getWorkers(), data.getPrefetch(),
        data.getShuffleBuffer(), seed).withStartElement(start);
    return new ClosingPipeline(source, decoder, new StagedProcessor(stages), opts,
        SkippingPolicy.of(data.getSource(), "data.source"));
  }

  /** Mask stages of a recipe: a block or random mask, or MOCA's complementary orders per view. */
  static List<SampleStage> maskStages(MaskingConfig masking, ModelConfig model, int views) {
    int g = model.getImageSize() / model.getPatchSize();
    return switch (masking.getGeneratorCase()) {
      case BLOCK -> List.of(Stages.blockMask(BlockMaskGenerator.fromConfig(masking.getBlock(), g, g)));
      case RANDOM -> List.of(Stages.randomMask(RandomMaskGenerator.fromConfig(masking.getRandom(), g, g)));
      case COMPLEMENTARY -> List.of(Stages.complementaryMasks(
          ComplementaryMaskGenerator.fromConfig(masking.getComplementary(), g * g), Math.max(1, views)));
      case GENERATOR_NOT_SET -> List.of();
    };
  }

  /**
   * One ordered pass over a labelled source with the evaluation view (no augmentation; resize and
   * centre crop only where the image size differs): fields {@code image} and {@code label}.
   */
  public static Pipeline evaluation(SourceConfig src, String field, ModelConfig model, int batchSize, int workers,
      DataConfig.Decoder decoderKind) {
    Source source = Sources.open(src, null, field);
    ImageDecoder decoder = ImageDecoders.create(decoderKind, workers);
    List<SampleStage> stages = List.of(Stages.decode(decoder, model.getChannels()),
        Stages.evalView("image", model.getImageSize(), model.getChannels()), Stages.label(source.numClasses()));
    return new ClosingPipeline(source, decoder, new StagedProcessor(stages),
        PipelineOptions.singlePass(batchSize, workers, 0), SkippingPolicy.of(src, field));
  }

  /** A pipeline that also closes its source and decoder. */
  private static final class ClosingPipeline extends Pipeline {
    private final Source source;
    private final ImageDecoder decoder;

    ClosingPipeline(Source source, ImageDecoder decoder, StagedProcessor p, PipelineOptions o, SkippingPolicy skip) {
      super(source, p, o, skip::onBadInput);
      this.source = source;
      this.decoder = decoder;
    }

    @Override
    public void close() {
      super.close();
      try {
        decoder.close();
      } catch (Exception e) {
        // closing a decoder frees native memory only; nothing to report
      }
      source.close();
    }
  }
}
