package org.mimtf.data.recipe;

import java.io.PrintStream;
import java.util.List;
import org.mimtf.config.proto.Augmentation;
import org.mimtf.config.proto.BlockMasking;
import org.mimtf.config.proto.ColorJitter;
import org.mimtf.config.proto.DataConfig;
import org.mimtf.config.proto.HorizontalFlip;
import org.mimtf.config.proto.Interpolation;
import org.mimtf.config.proto.MaskingConfig;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.Normalize;
import org.mimtf.config.proto.RandomResizedCrop;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.config.proto.ViewConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.Pipeline;

/**
 * {@code mimtf data bench}: throughput of the input pipeline on the reference workload — decode +
 * RandomResizedCrop(224, scale 0.08–1) + flip + ColorJitter(0.4, 0.4, 0.4, 0.1) + normalise + BEiT
 * block mask (14×14, 75 patches) at batch 64 on synthetic 256×256 JPEGs (quality 90).
 */
public final class DataBench {
  /** One measurement. */
  public record Figures(String decoder, int workers, int batch, int images, double seconds, double imagesPerSec) {}

  private DataBench() {}

  public static DataConfig data(int count, int size, int workers, DataConfig.Decoder decoder) {
    return DataConfig.newBuilder()
        .setSource(SourceConfig.newBuilder().setKind(SourceConfig.Kind.SYNTHETIC).setSyntheticCount(count)
            .setSyntheticSize(size).setSyntheticJpegQuality(90))
        .addView(ViewConfig.newBuilder().setName("image")
            .addAugment(Augmentation.newBuilder().setRandomResizedCrop(RandomResizedCrop.newBuilder().setSize(224)
                .setMinScale(0.08f).setMaxScale(1f).setInterpolation(Interpolation.BILINEAR)))
            .addAugment(Augmentation.newBuilder().setHorizontalFlip(HorizontalFlip.newBuilder().setP(0.5f)))
            .addAugment(Augmentation.newBuilder().setColorJitter(ColorJitter.newBuilder().setBrightness(0.4f)
                .setContrast(0.4f).setSaturation(0.4f).setHue(0.1f)))
            .addAugment(Augmentation.newBuilder().setNormalize(Normalize.newBuilder()
                .addAllMean(List.of(0.485f, 0.456f, 0.406f)).addAllStd(List.of(0.229f, 0.224f, 0.225f)))))
        .setWorkers(workers)
        .setPrefetch(2)
        .setDecoder(decoder)
        .build();
  }

  public static Figures run(int count, int size, int batch, int workers, int epochs, DataConfig.Decoder decoder,
      PrintStream out) {
    DataConfig data = data(count, size, workers, decoder);
    ModelConfig model = ModelConfig.newBuilder().setImageSize(224).setPatchSize(16).setChannels(3).build();
    MaskingConfig masking = MaskingConfig.newBuilder().setBlock(BlockMasking.newBuilder().setNumMaskingPatches(75)
        .setMinNumPatches(16)).build();
    try (Pipeline p = PipelineFactory.training(data, model, masking, batch, 0, List.of(), 0)) {
      // warm-up: JIT, thread start, TF decode session
      for (int i = 0; i < 2; i++) {
        p.next();
      }
      int batches = Math.max(1, epochs * count / batch);
      long t0 = System.nanoTime();
      int images = 0;
      for (int i = 0; i < batches; i++) {
        Batch b = p.next();
        images += b.size();
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      Figures f = new Figures(decoder.name().toLowerCase(), workers, batch, images, secs, images / secs);
      out.printf("decoder %-10s workers %d batch %d: %d images in %.2f s = %.1f images/s%n", f.decoder(), workers,
          batch, images, secs, f.imagesPerSec());
      return f;
    }
  }
}
