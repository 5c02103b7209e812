package org.mimtf.methods.moca;

import java.util.List;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Max;
import org.tensorflow.op.core.Sum;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * MOCA's online codebook and the teacher's soft assignments to it (moca.md §2, §4; valeoai/MOCA
 * {@code BoWExtractor}).
 *
 * <p>State (variables, so checkpoints and {@code --resume} carry it): the codebook C [K, D] (unit rows;
 * initialised as standard normal values clamped at 0, then row-normalised, as the code), the queue
 * pointer {@code ptr} (next row to overwrite), the count of words written, and the temperature
 * statistics μ ({@code mu}) and μ_prev ({@code mu_prev}), both starting at {@code mu_init}.
 *
 * <p>Per step (training; every formula as the code):
 * <pre>
 *   u = F / max(‖F‖, 1e-5)                 cos = u·Ĉᵀ                    (Ĉ: the codebook before this step's update)
 *   μ_batch(v) = mean over the view's B·N tokens of (max_k cos − mean_k cos)
 *   μ ← m·μ + (1 − m)·μ_batch(view 1);  μ ← m·μ + (1 − m)·μ_batch(view 2)     (two EMA updates per step)
 *   q_T = softmax_k((inv_delta / μ_prev)·cos)                              (temperature μ_prev / inv_delta)
 *   y_T = L1-normalise(mean of q_T over the tokens at least {@code border} away from the grid's edge)
 *   C[ptr : ptr + K_new] ← K_new new words;  ptr ← (ptr + K_new) mod K;  μ_prev ← μ
 * </pre>
 * The paper writes the temperature as 1/(10·μ̄); the code divides the cosine by μ_prev/10, which is
 * what produced its results, and is followed here (moca.md §9).
 */
public final class OnlineCodebook {
  private final Param codebook;
  private final Param mu;
  private final Param muPrev;
  private final Variable<TInt32> ptr;
  private final Variable<TInt64> written;
  private final int k;
  private final int d;

  /** What the teacher's patch tokens of the two views give (all without gradient). */
  public record Assignment(Operand<TFloat32> unit, Operand<TFloat32> cos, Operand<TFloat32> codes,
      Operand<TFloat32> bows, Operand<TFloat32> muBatch, Operand<TFloat32> entropy) {}

  private OnlineCodebook(Param codebook, Param mu, Param muPrev, Variable<TInt32> ptr, Variable<TInt64> written, int k,
      int d) {
    this.codebook = codebook;
    this.mu = mu;
    this.muPrev = muPrev;
    this.ptr = ptr;
    this.written = written;
    this.k = k;
    this.d = d;
  }

  /**
   * Creates {@code <scope>/words} [K, D], {@code mu}, {@code mu_prev} (state, never trained) and the
   * int counters {@code ptr} and {@code words_written}.
   */
  public static OnlineCodebook create(ParamStore ps, Ops tf, int k, int d, float muInit) {
    Param c = ps.create(tf, "words", Shape.of(k, d), Param.Kind.STATE, 0, false,
        (t, name, shape) -> l2norm(t, t.math.maximum(ps.init().normal(t, name, shape, 1f), t.constant(0f)), 1e-12f));
    Param m = ps.create(tf, "mu", Shape.scalar(), Param.Kind.STATE, 0, false, (t, n, s) -> t.constant(muInit));
    Param mp = ps.create(tf, "mu_prev", Shape.scalar(), Param.Kind.STATE, 0, false, (t, n, s) -> t.constant(muInit));
    Variable<TInt32> p = tf.withName("ptr").variable(Shape.scalar(), TInt32.class);
    tf.withInitScope().withName("ptr_init").assign(p, tf.withInitScope().constant(0));
    Variable<TInt64> w = tf.withName("words_written").variable(Shape.scalar(), TInt64.class);
    tf.withInitScope().withName("words_written_init").assign(w, tf.withInitScope().constant(0L));
    return new OnlineCodebook(c, m, mp, p, w, k, d);
  }

  public int size() {
    return k;
  }

  public int dim() {
    return d;
  }

  /** Ĉ: this step's codebook, as read before the queue update (see {@link MocaMethod} on ordering). */
  public Operand<TFloat32> words() {
    return codebook.read();
  }

  public Param wordsParam() {
    return codebook;
  }

  public Operand<TFloat32> mu() {
    return mu.read();
  }

  public Operand<TFloat32> muPrev() {
    return muPrev.read();
  }

  public Variable<TInt32> ptr() {
    return ptr;
  }

  public Variable<TInt64> written() {
    return written;
  }

  /** Row-wise {@code x / max(‖x‖₂, eps)} over the last axis (torch.nn.functional.normalize). */
  public static Operand<TFloat32> l2norm(Ops tf, Operand<TFloat32> x, float eps) {
    Operand<TFloat32> n = tf.math.sqrt(tf.sum(tf.math.square(x), tf.constant(-1), Sum.keepDims(true)));
    return tf.math.div(x, tf.math.maximum(n, tf.constant(eps)));
  }

  /**
   * Soft assignments of teacher patch tokens {@code f} [2B, N, D] (view 1's B images, then view 2's)
   * to the codebook {@code words} [K, D].
   *
   * @param muPrev μ_prev (scalar): the temperature is μ_prev / invDelta
   * @param interior the token indices the bag of words averages (border excluded)
   */
  public static Assignment assign(Ops tf, Compute c, Operand<TFloat32> f, Operand<TFloat32> words,
      Operand<TFloat32> muPrev, float invDelta, int[] interior) {
    long n = f.shape().get(1);
    long dim = f.shape().get(2);
    long kk = words.shape().get(0);
    Operand<TFloat32> u = l2norm(tf, f, 1e-5f);
    Operand<TFloat32> rows = tf.reshape(u, tf.constant(new long[] {-1, dim}));
    Operand<TFloat32> cos = tf.reshape(c.matMul(tf, rows, words, false, true), tf.constant(new long[] {-1, n, kk}));
    // μ statistics per view: mean over the view's tokens of max_k cos − mean_k cos.
    Operand<TFloat32> gap = tf.math.sub(tf.max(cos, tf.constant(-1), Max.keepDims(false)),
        tf.math.mean(cos, tf.constant(-1), Mean.keepDims(false)));
    Operand<TFloat32> perView = tf.reshape(gap, tf.constant(new long[] {2, -1}));
    Operand<TFloat32> muBatch = tf.math.mean(perView, tf.constant(1));
    Operand<TFloat32> logits = tf.math.mul(cos, tf.math.div(tf.constant(invDelta), muPrev));
    Operand<TFloat32> q = tf.nn.softmax(logits);
    Operand<TFloat32> inner = tf.gather(q, tf.constant(interior), tf.constant(1));
    Operand<TFloat32> bow = tf.math.mean(inner, tf.constant(1));
    Operand<TFloat32> l1 = tf.sum(tf.math.abs(bow), tf.constant(-1), Sum.keepDims(true));
    bow = tf.math.div(bow, tf.math.maximum(l1, tf.constant(1e-5f)));
    Operand<TFloat32> ent = tf.math.neg(tf.sum(plogp(tf, q), tf.constant(-1)));
    Operand<TFloat32> entropy = tf.math.mean(ent, tf.constant(new int[] {0, 1}));
    return new Assignment(tf.stopGradient(u), tf.stopGradient(cos), tf.stopGradient(q), tf.stopGradient(bow),
        tf.stopGradient(muBatch), tf.stopGradient(entropy));
  }

  /**
   * {@code p·log p} with 0 where p = 0, written with ops that all have C++ gradients (MulNoNan has
   * none, which breaks {@code tf.gradients} through any graph that contains it).
   */
  public static Operand<TFloat32> plogp(Ops tf, Operand<TFloat32> p) {
    return tf.math.mul(p, tf.math.log(tf.math.maximum(p, tf.constant(1e-30f))));
  }

  /** The token indices at least {@code border} tokens from the edge of a {@code g}×{@code g} grid, row-major. */
  public static int[] interior(int g, int border) {
    int side = g - 2 * border;
    int[] out = new int[side * side];
    int i = 0;
    for (int r = border; r < g - border; r++) {
      for (int col = border; col < g - border; col++) {
        out[i++] = r * g + col;
      }
    }
    return out;
  }

  /** μ after the step's two EMA updates, view 1's batch statistic first: [2] → scalar. */
  public Operand<TFloat32> muAfter(Ops tf, Operand<TFloat32> muBatch, float momentum) {
    Operand<TFloat32> m = tf.constant(momentum);
    Operand<TFloat32> m1 = tf.constant(1f - momentum);
    Operand<TFloat32> b1 = tf.gather(muBatch, tf.constant(0), tf.constant(0));
    Operand<TFloat32> b2 = tf.gather(muBatch, tf.constant(1), tf.constant(0));
    Operand<TFloat32> once = tf.math.add(tf.math.mul(m, mu.read()), tf.math.mul(m1, b1));
    return tf.math.add(tf.math.mul(m, once), tf.math.mul(m1, b2));
  }

  /**
   * The end-of-step state update: {@code newWords} [K_new, D] (unit rows) overwrite rows
   * {@code ptr … ptr + K_new − 1} (FIFO: the oldest words), then {@code ptr} advances by K_new modulo
   * K, and μ and μ_prev both take {@code muNext}. Build it under control dependencies on everything
   * that reads this step's state.
   */
  public Op update(Ops tf, Operand<TFloat32> newWords, int knew, Operand<TFloat32> muNext) {
    Operand<TInt32> p = tf.identity(ptr);
    Operand<TInt32> rows = tf.math.add(p, tf.range(tf.constant(0), tf.constant(knew), tf.constant(1)));
    Op scatter = tf.withName("enqueue").scatterUpdate(codebook.variable(), rows, newWords);
    Ops after = tf.withControlDependencies(List.of(scatter));
    Op advance = after.withName("advance_ptr").assign(ptr, after.math.floorMod(after.math.add(p, after.constant(knew)),
        after.constant(k)));
    Op count = after.assignAdd(written, after.constant((long) knew));
    Op m = after.assign(mu.variable(), muNext);
    Op mp = after.assign(muPrev.variable(), muNext);
    return tf.withControlDependencies(List.of(scatter, advance, count, m, mp)).withName("codebook_update").noOp();
  }

  /**
   * When no word has been written yet, all K rows ← {@code words} [K, D] (unit rows) and the count of
   * words written ← K; a no-op afterwards. {@link #update} must run after it.
   */
  public Op prefill(Ops tf, Operand<TFloat32> words) {
    Operand<TInt64> w = tf.withName("written_before_prefill").snapshot(written);
    Operand<TBool> first = tf.math.equal(w, tf.constant(0L));
    Operand<TFloat32> current = tf.withName("words_before_prefill").snapshot(codebook.variable());
    Op fillWords = tf.withName("prefill").assign(codebook.variable(), tf.select(first, words, current));
    Ops after = tf.withControlDependencies(List.of(fillWords));
    Op count = after.assign(written, after.select(first, after.constant((long) k), w));
    return tf.withControlDependencies(List.of(fillWords, count)).withName("prefill_done").noOp();
  }

  /** Fraction of the K rows that hold teacher words (the rest still hold their random initial values). */
  public Operand<TFloat32> fill(Ops tf) {
    Operand<TFloat32> w = tf.dtypes.cast(tf.identity(written), TFloat32.class);
    return tf.math.minimum(tf.constant(1f), tf.math.div(w, tf.constant((float) k)));
  }

  /**
   * Diversity of the codebook: 1 − the mean cosine between distinct words. With unit rows the mean
   * over pairs is {@code (‖Σ c_i‖² − K) / (K(K − 1))}: O(K·D), no K×K product.
   */
  public static Operand<TFloat32> diversity(Ops tf, Operand<TFloat32> words) {
    long kk = words.shape().get(0);
    Operand<TFloat32> unit = l2norm(tf, words, 1e-12f);
    Operand<TFloat32> s = tf.sum(unit, tf.constant(0));
    Operand<TFloat32> sq = tf.sum(tf.math.square(s), tf.constant(0));
    Operand<TFloat32> self = tf.sum(tf.math.square(unit), tf.constant(new int[] {0, 1}));
    Operand<TFloat32> meanCos = tf.math.div(tf.math.sub(sq, self), tf.constant((float) (kk * (kk - 1))));
    return tf.math.sub(tf.constant(1f), meanCos);
  }
}
