package org.mimtf.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.util.Json;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.op.linalg.MatMul;
import org.tensorflow.types.TFloat32;

/**
 * The three products of a dense layer's training step, timed apart: forward {@code Y = X·W}, the
 * input gradient {@code dX = dY·Wᵀ} and the weight gradient {@code dW = Xᵀ·dY} (the transposed
 * operands TF's MatMul gradient uses), plus two other ways to form {@code dW} (an explicit Transpose,
 * and {@code (dYᵀ·X)ᵀ}). The step profile attributes about 3.3× the forward products' time to the
 * backward ones instead of 2×; this says whether a transposed operand is slower in isolation. All
 * products are timed in alternating rounds in one session and the {@code dW} forms are checked equal.
 */
public final class GemmGradBench {
  private GemmGradBench() {}

  /** {@code rows} = B·T tokens, {@code in} → {@code out} features; medians over {@code rounds}. */
  public static Json.Obj run(int rows, int in, int out, int rounds, PrintStream log) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Operand<TFloat32> x = uniform(tf, rows, in, 2);
      Operand<TFloat32> w = uniform(tf, in, out, 3);
      Operand<TFloat32> dy = uniform(tf, rows, out, 4);
      int[] t01 = {1, 0};
      Map<String, Operand<TFloat32>> p = new LinkedHashMap<>();
      p.put("forward X·W", tf.linalg.matMul(x, w));
      p.put("dX = dY·Wᵀ (transpose_b)", tf.linalg.matMul(dy, w, MatMul.transposeB(true)));
      p.put("dW = Xᵀ·dY (transpose_a)", tf.linalg.matMul(x, dy, MatMul.transposeA(true)));
      p.put("dW = Transpose(X)·dY", tf.linalg.matMul(tf.linalg.transpose(x, tf.constant(t01)), dy));
      p.put("dW = (dYᵀ·X)ᵀ", tf.linalg.transpose(tf.linalg.matMul(dy, x, MatMul.transposeA(true)), tf.constant(t01)));
      Map<String, Operand<TFloat32>> sums = new LinkedHashMap<>();
      p.forEach((k, v) -> sums.put(k, tf.sum(v, tf.constant(new int[] {0, 1}))));
      List<String> names = new ArrayList<>(p.keySet());
      // the dW forms must agree: max |a - b| against the transpose_a form
      Operand<TFloat32> ref = p.get(names.get(2));
      Operand<TFloat32> diff = tf.max(tf.math.maximum(tf.math.abs(tf.math.sub(p.get(names.get(3)), ref)),
          tf.math.abs(tf.math.sub(p.get(names.get(4)), ref))), tf.constant(new int[] {0, 1}));
      try (Session s = new Session(g)) {
        double maxDiff;
        try (Result r = s.runner().fetch(diff).run()) {
          maxDiff = ((TFloat32) r.get(0)).getFloat();
        }
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        names.forEach(n -> ms.put(n, new ArrayList<>()));
        for (int round = -2; round < rounds; round++) { // two untimed warm-up rounds
          for (String n : names) {
            long t0 = System.nanoTime();
            s.runner().fetch(sums.get(n)).run().close();
            if (round >= 0) {
              ms.get(n).add((System.nanoTime() - t0) / 1e6);
            }
          }
        }
        double flops = 2.0 * rows * in * out;
        List<Object> rows2 = new ArrayList<>();
        double forward = 0;
        for (String n : names) {
          List<Double> l = ms.get(n);
          Collections.sort(l);
          double med = l.get(l.size() / 2);
          if (forward == 0) {
            forward = med;
          }
          log.printf("%-28s %9.3f ms  %7.1f GFLOP/s  %.2fx forward%n", n, med, flops / med / 1e6, med / forward);
          rows2.add(Json.obj().put("product", n).put("ms", med).put("gflops", flops / med / 1e6)
              .put("vs_forward", med / forward).asMap());
        }
        log.printf("dW forms agree to %.2e (max |difference|)%n", maxDiff);
        return Json.obj().put("bench", "gemm-grad").put("rows", rows).put("in", in).put("out", out)
            .put("rounds", rounds).put("products", rows2).put("dw_max_abs_difference", maxDiff);
      }
    }
  }

  private static Operand<TFloat32> uniform(Ops tf, int r, int c, long seed) {
    return tf.identity(tf.variable(tf.random.statelessRandomUniform(tf.constant(new int[] {r, c}),
        tf.constant(new long[] {1, seed}), TFloat32.class)));
  }
}
