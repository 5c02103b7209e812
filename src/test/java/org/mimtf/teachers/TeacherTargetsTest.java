package org.mimtf.teachers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.TeacherConfig.TargetNorm;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

class TeacherTargetsTest {
  /** Features [2 images, 2 tokens, 3 dims]. */
  private static final float[][][] F = {
      {{1, 2, 3}, {3, 2, 1}},
      {{5, 2, 0}, {-1, 2, 8}}};

  private static float[] run(TargetNorm norm) {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      var out = TeacherTargets.normalize(tf, tf.constant(F), norm, 1e-5f);
      try (TFloat32 t = (TFloat32) s.runner().fetch(out).run().get(0)) {
        float[] a = new float[12];
        t.asRawTensor().data().asFloats().read(a);
        return a;
      }
    }
  }

  @Test
  void batchCenterSubtractsTheMeanOverEveryTokenOfTheBatchPerDimension() {
    // per-dimension means over the four tokens: (8/4, 8/4, 12/4) = (2, 2, 3)
    assertArrayEquals(new float[] {-1, 0, 0, 1, 0, -2, 3, 0, -3, -3, 0, 5}, run(TargetNorm.BATCH_CENTER), 1e-6f);
  }

  @Test
  void layerNormWhitensEachTokenAndNoNormKeepsTheFeatures() {
    float[] ln = run(TargetNorm.LAYER_NORM);
    // token (1, 2, 3): mean 2, biased variance 2/3
    double sd = Math.sqrt(2.0 / 3 + 1e-5);
    assertEquals(-1 / sd, ln[0], 1e-5);
    assertEquals(0, ln[1], 1e-6);
    assertEquals(1 / sd, ln[2], 1e-5);
    assertArrayEquals(new float[] {1, 2, 3, 3, 2, 1, 5, 2, 0, -1, 2, 8}, run(TargetNorm.NO_NORM), 0f);
  }
}
