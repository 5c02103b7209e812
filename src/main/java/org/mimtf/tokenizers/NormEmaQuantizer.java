package org.mimtf.tokenizers;

import java.util.List;
import org.mimtf.nn.Compute;
import org.mimtf.nn.InitScheme;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Sum;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * BEiT v2's {@code NormEMAVectorQuantizer} (beitv2.md §2.2): an L2-normalised codebook E [K, d]
 * moved by exponential moving averages, not gradients. A feature z (already L2-normalised) takes
 * the code with the largest cosine; the encoder gets the straight-through gradient and the
 * commitment term {@code β·mean((sg(z_q) − z)²)}.
 *
 * <p>EMA step (training): with n_k rows and sum s_k assigned to code k in the batch,
 * {@code m_k = l2norm(s_k / max(n_k, 1))} (or E_k when n_k = 0) and
 * {@code E_k ← l2norm(decay·E_k + (1 − decay)·m_k)}. Codes are initialised by 10 iterations of
 * spherical k-means on the first batch. Re-seeding codes unused for a window of steps is an option
 * (not in the official code).
 */
public final class NormEmaQuantizer {
  private final Param codebook;
  private final Param lastUsed;
  private final int k;
  private final int d;

  /** One quantisation. */
  public record Quantized(Operand<TInt32> ids, Operand<TFloat32> straightThrough, Operand<TFloat32> commitment,
      Operand<TFloat32> counts, Operand<TFloat32> z) {}

  private NormEmaQuantizer(Param codebook, Param lastUsed, int k, int d) {
    this.codebook = codebook;
    this.lastUsed = lastUsed;
    this.k = k;
    this.d = d;
  }

  /** Creates {@code <scope>/embedding} [K, d] and {@code <scope>/last_used} [K] (state, not trained). */
  public static NormEmaQuantizer create(ParamStore ps, Ops tf, int k, int d) {
    Param e = ps.create(tf, "embedding", Shape.of(k, d), Param.Kind.STATE, 0, false, InitScheme.zeros());
    Param u = ps.create(tf, "last_used", Shape.of(k), Param.Kind.STATE, 0, false, InitScheme.constant(-1f));
    return new NormEmaQuantizer(e, u, k, d);
  }

  public Operand<TFloat32> codebook() {
    return codebook.read();
  }

  public int size() {
    return k;
  }

  /** Row-wise L2 normalisation (eps 1e-12 as torch.nn.functional.normalize). */
  public static Operand<TFloat32> l2norm(Ops tf, Operand<TFloat32> x) {
    Operand<TFloat32> n = tf.math.sqrt(tf.sum(tf.math.square(x), tf.constant(-1), Sum.keepDims(true)));
    return tf.math.div(x, tf.math.maximum(n, tf.constant(1e-12f)));
  }

  /** Quantises L2-normalised {@code z} [M, d]. */
  public Quantized quantize(Ops tf, Compute c, Operand<TFloat32> z, float beta) {
    Operand<TFloat32> e = codebook.read();
    Operand<TFloat32> sims = c.matMul(tf, z, e, false, true);
    Operand<TInt32> ids = tf.math.argMax(sims, tf.constant(1), TInt32.class);
    Operand<TFloat32> zq = tf.gather(e, ids, tf.constant(0));
    Operand<TFloat32> commit = tf.math.mul(tf.constant(beta),
        tf.math.mean(tf.math.squaredDifference(tf.stopGradient(zq), z), tf.constant(new int[] {0, 1})));
    Operand<TFloat32> st = tf.math.add(z, tf.stopGradient(tf.math.sub(zq, z)));
    Operand<TFloat32> counts = tf.math.unsortedSegmentSum(tf.onesLike(tf.dtypes.cast(ids, TFloat32.class)), ids,
        tf.constant(k));
    return new Quantized(ids, st, commit, counts, z);
  }

  /** The assignment statistics of features {@code z} already assigned to codes {@code ids}. */
  public Quantized assignments(Ops tf, Operand<TFloat32> z, Operand<TInt32> ids) {
    Operand<TFloat32> counts = tf.math.unsortedSegmentSum(tf.onesLike(tf.dtypes.cast(ids, TFloat32.class)), ids,
        tf.constant(k));
    return new Quantized(ids, null, null, counts, z);
  }

  /**
   * 10-iteration spherical k-means on {@code z} [M, d] (M ≥ K: K distinct random rows; fewer: rows
   * drawn with replacement), assigned to the codebook. A mean with no rows keeps its value.
   */
  public Op kmeansInit(Ops tf, Compute c, Operand<TFloat32> z, int iterations, Operand<TInt64> seed) {
    Operand<TInt32> m = tf.slice(tf.shape(z), tf.constant(new int[] {0}), tf.constant(new int[] {1}));
    Operand<TFloat32> u = tf.random.statelessRandomUniform(m, seed, TFloat32.class);
    // K distinct rows: the top-K of uniform noise (needs M >= K, which the recipe validation of the
    // batch size ensures for the default configs; with fewer rows TopK fails loudly).
    Operand<TInt32> idx = tf.nn.topK(u, tf.constant(k), TInt32.class).indices();
    Operand<TFloat32> means = tf.gather(z, idx, tf.constant(0));
    for (int it = 0; it < iterations; it++) {
      Operand<TInt32> ids = tf.math.argMax(c.matMul(tf, z, means, false, true), tf.constant(1), TInt32.class);
      Operand<TFloat32> sums = tf.math.unsortedSegmentSum(z, ids, tf.constant(k));
      Operand<TFloat32> counts = tf.math.unsortedSegmentSum(tf.onesLike(tf.dtypes.cast(ids, TFloat32.class)), ids,
          tf.constant(k));
      Operand<TBool> empty = tf.math.equal(counts, tf.constant(0f));
      Operand<TBool> empty2 = tf.broadcastTo(tf.expandDims(empty, tf.constant(1)), tf.shape(means));
      means = tf.select(empty2, means, l2norm(tf, sums));
    }
    return tf.assign(codebook.variable(), means);
  }

  /**
   * The EMA update for a batch's assignment (run after the optimizer step); with {@code reseed},
   * codes unused for {@code window} steps are replaced by random rows of {@code z}.
   */
  public Op emaUpdate(Ops tf, Quantized q, float decay, Operand<TInt64> step, boolean reseed, int window,
      Operand<TInt64> seed) {
    Operand<TFloat32> e = codebook.read();
    Operand<TFloat32> sums = tf.math.unsortedSegmentSum(q.z(), q.ids(), tf.constant(k));
    Operand<TFloat32> mean = l2norm(tf, tf.math.div(sums,
        tf.expandDims(tf.math.maximum(q.counts(), tf.constant(1f)), tf.constant(1))));
    Operand<TBool> used = tf.math.greater(q.counts(), tf.constant(0f));
    Operand<TBool> used2 = tf.broadcastTo(tf.expandDims(used, tf.constant(1)), tf.shape(e));
    Operand<TFloat32> m = tf.select(used2, mean, e);
    Operand<TFloat32> updated = l2norm(tf, tf.math.add(tf.math.mul(e, tf.constant(decay)),
        tf.math.mul(m, tf.constant(1f - decay))));
    Operand<TFloat32> stepF = tf.dtypes.cast(step, TFloat32.class);
    Operand<TFloat32> last = tf.select(used, tf.fill(tf.shape(q.counts()), stepF), lastUsed.read());
    if (reseed) {
      Operand<TBool> dead = tf.math.greater(tf.math.sub(stepF, last), tf.constant((float) window));
      Operand<TInt32> rows = tf.slice(tf.shape(q.z()), tf.constant(new int[] {0}), tf.constant(new int[] {1}));
      Operand<TInt32> pick = tf.random.statelessRandomUniformInt(tf.constant(new int[] {k}),
          tf.math.add(seed, tf.constant(new long[] {0, 7919})), tf.constant(0), tf.squeeze(rows));
      Operand<TFloat32> fresh = tf.gather(q.z(), pick, tf.constant(0));
      updated = tf.select(tf.broadcastTo(tf.expandDims(dead, tf.constant(1)), tf.shape(e)), fresh, updated);
      last = tf.select(dead, tf.fill(tf.shape(last), stepF), last);
    }
    // The update must not overtake this batch's own use of the codebook: without a dependency the
    // runtime may write the new codes before the gather behind z_q (commitment, straight-through)
    // has read the old ones, when both are fetched in one run (seen as a flaky commitment).
    List<Op> readers = new java.util.ArrayList<>();
    for (Operand<TFloat32> r : java.util.Arrays.asList(q.commitment(), q.straightThrough())) {
      if (r != null) {
        readers.add(r);
      }
    }
    if (!readers.isEmpty()) {
      updated = tf.withControlDependencies(readers).identity(updated);
    }
    Op a = tf.assign(codebook.variable(), updated);
    Op b = tf.assign(lastUsed.variable(), last);
    return tf.withControlDependencies(List.of(a, b)).withName("quantizer_update").noOp();
  }

  /** Fraction of codes used within the last {@code window} steps (after this step's update). */
  public Operand<TFloat32> usage(Ops tf, Operand<TInt64> step, Operand<TFloat32> counts, int window) {
    Operand<TFloat32> stepF = tf.dtypes.cast(step, TFloat32.class);
    Operand<TFloat32> last = tf.select(tf.math.greater(counts, tf.constant(0f)),
        tf.fill(tf.shape(counts), stepF), lastUsed.read());
    Operand<TFloat32> recent = tf.dtypes.cast(tf.math.logicalAnd(tf.math.greaterEqual(last, tf.constant(0f)),
        tf.math.lessEqual(tf.math.sub(stepF, last), tf.constant((float) window))), TFloat32.class);
    return tf.math.mean(recent, tf.constant(0));
  }

  /** Perplexity exp(H) of the batch's code distribution. */
  public static Operand<TFloat32> perplexity(Ops tf, Operand<TFloat32> counts) {
    Operand<TFloat32> p = tf.math.div(counts, tf.sum(counts, tf.constant(0)));
    Operand<TFloat32> h = tf.math.neg(tf.sum(tf.math.mulNoNan(tf.math.log(p), p), tf.constant(0)));
    return tf.math.exp(h);
  }

  public int dim() {
    return d;
  }
}
