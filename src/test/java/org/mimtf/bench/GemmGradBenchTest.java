package org.mimtf.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GemmGradBenchTest {
  @Test
  void timesTheFiveProductsAndFindsTheWeightGradientFormsEqual() {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Map<String, Object> j = GemmGradBench.run(40, 8, 12, 2, new PrintStream(log, true)).asMap();
    assertEquals("gemm-grad", j.get("bench"));
    List<?> products = (List<?>) j.get("products");
    assertEquals(5, products.size());
    assertEquals(1.0, ((Number) ((Map<?, ?>) products.get(0)).get("vs_forward")).doubleValue(), 0);
    for (Object p : products) {
      assertTrue(((Number) ((Map<?, ?>) p).get("ms")).doubleValue() > 0, p.toString());
    }
    // Xᵀ·dY, Transpose(X)·dY and (dYᵀ·X)ᵀ are one matrix (sums of 40 products of values in [0, 1))
    assertTrue(((Number) j.get("dw_max_abs_difference")).doubleValue() < 1e-4, j.toString());
    assertTrue(log.toString().contains("dW = Xᵀ·dY (transpose_a)"), log.toString());
  }
}
