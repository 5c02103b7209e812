package org.mimtf.eval;

import java.nio.file.Path;
import java.util.Map;
import org.mimtf.config.proto.DataConfig;
import org.mimtf.config.proto.EvalConfig;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.data.recipe.PipelineFactory;
import org.mimtf.export.EncoderExporter;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.SessionFunction;
import org.tensorflow.Tensor;
import org.tensorflow.types.TFloat32;

/**
 * Runs an exported encoder (SavedModel) over a labelled data set and collects one feature vector per
 * image: the {@code cls} or {@code avg_pool} output, as the recipe's {@code eval.feature} says.
 */
public final class FeatureExtractor implements AutoCloseable {
  /** Features [n, d] row-major and labels [n]. */
  public record Features(float[] values, int[] labels, int n, int d) {}

  private final SavedModelBundle bundle;
  private final SessionFunction fn;

  public FeatureExtractor(Path savedModel) {
    this.bundle = SavedModelBundle.load(savedModel.toString(), "serve");
    this.fn = bundle.function("serving_default");
  }

  public Features extract(SourceConfig src, String field, ModelConfig model, EvalConfig.Feature feature, int batchSize,
      int workers) {
    String output = feature == EvalConfig.Feature.AVG_POOL ? EncoderExporter.AVG_POOL : EncoderExporter.CLS;
    float[] values = null;
    int[] labels = null;
    int n = 0;
    int d = 0;
    try (Pipeline p = PipelineFactory.evaluation(src, field, model, batchSize, workers, DataConfig.Decoder.TENSORFLOW)) {
      int total = p.elementsPerEpoch();
      labels = new int[total];
      while (p.hasNext()) {
        Batch b = p.next();
        try (Tensor images = b.toTensor("image");
            Result r = fn.call(Map.of(EncoderExporter.INPUT, images))) {
          TFloat32 f = (TFloat32) r.get(output).orElseThrow(() -> new IllegalStateException(
              "the SavedModel has no output '" + output + "'"));
          int rows = (int) f.shape().get(0);
          d = (int) f.shape().get(1);
          if (values == null) {
            values = new float[total * d];
          }
          float[] part = new float[rows * d];
          f.asRawTensor().data().asFloats().read(part);
          System.arraycopy(part, 0, values, n * d, rows * d);
          System.arraycopy(b.ints("label"), 0, labels, n, rows);
          n += rows;
        }
      }
    }
    return new Features(values, labels, n, d);
  }

  @Override
  public void close() {
    bundle.close();
  }
}
