package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.ModelConfig;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/**
 * Finite-difference checks of the gradients TF derives for our hand-written layers: a wrong
 * normalisation axis, a transposed bias or a broken reshape shows up as a mismatch here.
 */
class GradientCheckTest {
  private static final float EPS = 2e-3f;

  /** loss = Σ w ⊙ f(x): compares d loss / d x from tf.gradients with central differences. */
  private static void check(Graph g, Ops tf, Placeholder<TFloat32> x, long[] shape, Operand<TFloat32> y,
      float[] xValues, double tol) {
    Random r = new Random(7);
    int n = (int) Shape.of(y.shape().asArray()).size();
    float[] w = new float[n];
    for (int i = 0; i < n; i++) {
      w[i] = (float) r.nextGaussian();
    }
    Operand<TFloat32> loss = tf.reduceSum(tf.math.mul(y, tf.reshape(tf.constant(w), tf.shape(y))),
        tf.constant(rangeOf(y.shape().numDimensions())));
    var grad = tf.gradients(loss, List.of(x));
    @SuppressWarnings("unchecked")
    Operand<TFloat32> dx = (Operand<TFloat32>) (Operand<?>) grad.dy(0);
    try (Session s = new Session(g)) {
      float[] analytic = GraphTesting.run(s, Map.of(x, xValues), Map.of(x, shape), List.of(dx)).get(0);
      for (int i = 0; i < xValues.length; i++) {
        float[] plus = xValues.clone();
        float[] minus = xValues.clone();
        plus[i] += EPS;
        minus[i] -= EPS;
        float lp = GraphTesting.run(s, Map.of(x, plus), Map.of(x, shape), List.of(loss)).get(0)[0];
        float lm = GraphTesting.run(s, Map.of(x, minus), Map.of(x, shape), List.of(loss)).get(0)[0];
        double numeric = (lp - lm) / (2.0 * EPS);
        assertEquals(numeric, analytic[i], tol * Math.max(1, Math.abs(numeric)), "d loss / d x[" + i + "]");
      }
    }
  }

  private static int[] rangeOf(int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    return a;
  }

  @Test
  void layerNormGradientMatchesFiniteDifferences() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(0));
      LayerNorm ln = LayerNorm.create(ps, tf.withSubScope("ln"), 6, 1e-6f, 0);
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(4, 6)));
      // a non-trivial gamma/beta so their broadcast is exercised
      Operand<TFloat32> y = tf.math.add(tf.math.mul(ln.apply(tf, x), tf.constant(2f)), tf.constant(0.5f));
      check(g, tf, x, new long[] {4, 6}, y, GraphTesting.randn(24, 1, 1.5f, 0f), 1e-2);
    }
  }

  @Test
  void attentionWithRelativeBiasGradientMatchesFiniteDifferences() {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(3));
      InitScheme init = new InitScheme(ModelConfig.Init.TIMM, 3);
      int grid = 2;
      int tokens = grid * grid + 1;
      int width = 8;
      int heads = 2;
      Attention attn = Attention.create(ps, tf.withSubScope("attn"), width, heads, ModelConfig.QkvBias.QV_BIAS, init,
          1f, 1);
      RelativePositionBias rel = RelativePositionBias.create(ps, tf.withSubScope("rel"), grid, grid, heads, 1);
      // Give the (zero-initialised) table non-trivial values so the bias matters.
      Placeholder<TFloat32> x = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(2 * tokens, width)));
      Operand<TFloat32> bias = tf.math.add(rel.bias(tf), tf.reshape(tf.constant(GraphTesting.randn(heads * tokens * tokens, 5, 1f, 0f)),
          tf.constant(new int[] {heads, tokens, tokens})));
      Operand<TFloat32> y = attn.apply(tf, Compute.fp32(), tf.math.mul(x, tf.constant(3f)), tokens, bias).out();
      check(g, tf, x, new long[] {2 * tokens, width}, y, GraphTesting.randn(2 * tokens * width, 2, 1f, 0f), 2e-2);
    }
  }

  @Test
  void relativeBiasTableGradientMatchesFiniteDifferences() {
    // d loss / d table: feed the table through a placeholder added to the (zero) variable.
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      ParamStore ps = new ParamStore(new Initializers(3));
      InitScheme init = new InitScheme(ModelConfig.Init.TIMM, 3);
      int grid = 2;
      int heads = 2;
      int tokens = 5;
      int rows = Positions.relativeTableSize(grid, grid);
      Attention attn = Attention.create(ps, tf.withSubScope("attn"), 8, heads, ModelConfig.QkvBias.QV_BIAS, init, 1f, 1);
      Placeholder<TFloat32> table = tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(rows, heads)));
      Operand<TFloat32> bias = tf.linalg.transpose(tf.reshape(
          tf.gather(table, tf.constant(Positions.relativeIndex(grid, grid)), tf.constant(0)),
          tf.constant(new int[] {tokens, tokens, heads})), tf.constant(new int[] {2, 0, 1}));
      Operand<TFloat32> x = tf.constant(new float[][] {
          {1, 2, 0, -1, 0.5f, 0, 1, -2}, {0, 1, 1, 0, -1, 2, 0, 1}, {2, -1, 0, 1, 0, 0, 1, 1},
          {-1, 0, 2, 1, 1, -1, 0, 0}, {0.5f, 0.5f, -0.5f, 2, 0, 1, 1, 0}});
      Operand<TFloat32> y = attn.apply(tf, Compute.fp32(), tf.math.mul(x, tf.constant(2f)), tokens, bias).out();
      check(g, tf, table, new long[] {rows, heads}, y, GraphTesting.randn(rows * heads, 9, 1f, 0f), 2e-2);
    }
  }
}
