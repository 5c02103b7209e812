package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Iterator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/** Where {@link Compute} puts bf16: dense products always, batched (attention) products not on CPU. */
class ComputeTest {
  private static float[][][] randn(int b, int m, int n, long seed) {
    Random r = new Random(seed);
    float[][][] a = new float[b][m][n];
    for (float[][] x : a) {
      for (float[] row : x) {
        for (int j = 0; j < n; j++) {
          row[j] = (float) r.nextGaussian();
        }
      }
    }
    return a;
  }

  /** The batched product q·kᵀ and whether the graph cast anything to bf16 for it. */
  private static Object[] batchProduct(Compute c) {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> q = tf.constant(randn(2, 5, 8, 1));
      Operand<TFloat32> k = tf.constant(randn(2, 5, 8, 2));
      Operand<TFloat32> y = c.batchMatMul(tf, q, k, false, true);
      boolean bf16 = false;
      Iterator<GraphOperation> it = g.operations();
      while (it.hasNext()) {
        GraphOperation op = it.next();
        bf16 |= op.type().equals("Cast") && op.output(0).dataType() == org.tensorflow.proto.DataType.DT_BFLOAT16;
      }
      return new Object[] {GraphTesting.read(s, y), bf16};
    }
  }

  @Test
  void bf16BatchedProductsStayFp32WhenAskedAndEqualTheFp32Product() {
    Object[] fp32 = batchProduct(Compute.fp32());
    Object[] bf16 = batchProduct(new Compute(Compute.Precision.BF16));
    Object[] kept = batchProduct(new Compute(Compute.Precision.BF16).withFp32BatchProducts(true));
    assertEquals(false, fp32[1]);
    assertEquals(true, bf16[1], "bf16 without the policy casts q and k to bf16");
    assertEquals(false, kept[1], "with it, no bf16 cast");
    assertArrayEquals((float[]) fp32[0], (float[]) kept[0], 0f, "the very fp32 product");
    float[] a = (float[]) fp32[0];
    float[] b = (float[]) bf16[0];
    double worst = 0;
    for (int i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    assertTrue(worst > 0 && worst < 0.2, "bf16 rounding (8-bit mantissa) differs a little: " + worst);
  }

  @Test
  void cpuTowersKeepBatchedProductsFp32AndGpuTowersDoNot() {
    var t = org.mimtf.config.proto.TrainingConfig.newBuilder()
        .setPrecision(org.mimtf.config.proto.TrainingConfig.Precision.BF16).build();
    Compute cpu = org.mimtf.train.Devices.compute(t, List.of("/cpu:0"));
    assertEquals(Compute.Precision.BF16, cpu.precision());
    assertTrue(cpu.fp32BatchProducts());
    assertFalse(org.mimtf.train.Devices.compute(t, List.of("/device:GPU:0")).fp32BatchProducts());
    assertFalse(new Compute(Compute.Precision.BF16).fp32BatchProducts(), "off unless the devices ask");
  }
}
