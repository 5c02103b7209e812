package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * Parameter initialisers as stateless random ops: the same (seed, parameter name) gives the same tensor
 * in every session, so a run is reproducible and a model built twice with one seed is identical
 * (what an EMA copy initialised "as a copy" needs; it is also what makes tests deterministic).
 */
public final class Initializers {
  private final long seed;

  public Initializers(long seed) {
    this.seed = seed;
  }

  /** The per-parameter seed pair: (recipe seed, hash of the parameter's name). */
  private Operand<TInt64> seedFor(Ops tf, String name) {
    long h = org.mimtf.util.Seeds.combine(seed, name.hashCode(), name.length());
    return tf.constant(new long[] {seed, h});
  }

  private static Operand<TInt64> dims(Ops tf, Shape shape) {
    return tf.constant(shape.asArray());
  }

  public Operand<TFloat32> zeros(Ops tf, Shape shape) {
    return tf.fill(dims(tf, shape), tf.constant(0f));
  }

  public Operand<TFloat32> constant(Ops tf, Shape shape, float value) {
    return tf.fill(dims(tf, shape), tf.constant(value));
  }

  /** N(0, std²) without truncation. */
  public Operand<TFloat32> normal(Ops tf, String name, Shape shape, float std) {
    return tf.math.mul(tf.random.statelessRandomNormal(dims(tf, shape), seedFor(tf, name)), tf.constant(std));
  }

  /**
   * Normal(0, std²) truncated at ±{@code sigmas}·std, by the inverse CDF of a uniform draw between
   * Φ(−sigmas) and Φ(sigmas). BEiT pre-training truncates at ±1σ (common-vit.md §7), which TF's own
   * TruncatedNormal (±2σ) cannot express.
   */
  public Operand<TFloat32> truncatedNormal(Ops tf, String name, Shape shape, float std, double sigmas) {
    double lo = phi(-sigmas);
    double hi = phi(sigmas);
    Operand<TFloat32> u = tf.random.statelessRandomUniform(dims(tf, shape), seedFor(tf, name), TFloat32.class);
    // x = sqrt(2) * erfinv(2u' - 1), u' = lo + (hi - lo) u
    Operand<TFloat32> p = tf.math.add(tf.math.mul(u, tf.constant((float) (2 * (hi - lo)))),
        tf.constant((float) (2 * lo - 1)));
    Operand<TFloat32> z = tf.math.mul(tf.math.erfinv(p), tf.constant((float) Math.sqrt(2.0)));
    return tf.math.mul(z, tf.constant(std));
  }

  /** Glorot/Xavier uniform on a [fanIn, fanOut] view: U(−a, a), a = sqrt(6 / (fanIn + fanOut)). */
  public Operand<TFloat32> xavierUniform(Ops tf, String name, Shape shape, long fanIn, long fanOut) {
    float a = (float) Math.sqrt(6.0 / (fanIn + fanOut));
    Operand<TFloat32> u = tf.random.statelessRandomUniform(dims(tf, shape), seedFor(tf, name), TFloat32.class);
    return tf.math.mul(tf.math.sub(tf.math.mul(u, tf.constant(2f)), tf.constant(1f)), tf.constant(a));
  }

  /** Standard normal CDF. */
  static double phi(double x) {
    return 0.5 * (1 + erf(x / Math.sqrt(2)));
  }

  /** erf with fractional error below 1.2e-7 (Numerical Recipes' erfc Chebyshev fit); used for CDF bounds only. */
  static double erf(double x) {
    double t = 1.0 / (1.0 + 0.5 * Math.abs(x));
    double y = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
        + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? 1 - y : y - 1;
  }
}
