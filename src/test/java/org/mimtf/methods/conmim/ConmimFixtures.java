package org.mimtf.methods.conmim;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.nn.Param;
import org.mimtf.train.StepGraph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.types.TFloat32;

/** Batches and parameter reads for ConMIM graph tests (28 × 28 × 1, 49 patches, 37 masked). */
final class ConmimFixtures {
  static final int N = 49;
  static final int MASKED = 37;

  private ConmimFixtures() {}

  static List<FieldSpec> fields() {
    return List.of(FieldSpec.of("weak", FieldSpec.DType.FLOAT32, 28, 28, 1),
        FieldSpec.of("strong", FieldSpec.DType.FLOAT32, 28, 28, 1), FieldSpec.of("mask", FieldSpec.DType.BOOL, N));
  }

  /** Random weak views, strong = a photometric change of weak, 37 random masked patches per image. */
  static Batch batch(int size, long seed) {
    Batch b = Batch.allocate(fields(), size);
    SplittableRandom r = new SplittableRandom(seed);
    float[] weak = b.floats("weak");
    float[] strong = b.floats("strong");
    for (int i = 0; i < weak.length; i++) {
      weak[i] = (float) r.nextDouble();
      strong[i] = Math.min(1f, 0.8f * weak[i] + 0.1f + (float) (0.05 * r.nextDouble()));
    }
    boolean[] mask = b.bools("mask");
    for (int i = 0; i < size; i++) {
      int[] perm = new int[N];
      for (int j = 0; j < N; j++) {
        perm[j] = j;
      }
      for (int j = N - 1; j > 0; j--) {
        int k = r.nextInt(j + 1);
        int t = perm[j];
        perm[j] = perm[k];
        perm[k] = t;
      }
      for (int j = 0; j < MASKED; j++) {
        mask[i * N + perm[j]] = true;
      }
    }
    return b;
  }

  static float[] read(Session s, Param p) {
    try (Result r = s.runner().fetch(p.name()).run()) {
      TFloat32 t = (TFloat32) r.get(0);
      float[] a = new float[(int) t.shape().size()];
      t.asRawTensor().data().asFloats().read(a);
      return a;
    }
  }

  /** Every parameter (trainable or not) by name. */
  static Map<String, float[]> readAll(Session s, StepGraph sg) {
    Map<String, float[]> w = new HashMap<>();
    for (Param p : sg.params().all()) {
      w.put(p.name(), read(s, p));
    }
    return w;
  }

  static Recipe recipe(String... extra) {
    return org.mimtf.testing.TinyRecipes.conmim(java.nio.file.Path.of("/nonexistent-run"), 10, extra);
  }
}
