package org.mimtf.tokenizers;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.mimtf.nn.Compute;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Lloyd's k-means in squared L2, with the heavy part in TensorFlow: per chunk of points, distances to
 * all centroids as one matmul ({@code ||c||² − 2 x·cᵀ}), argmin, and per-cluster sums and counts by
 * {@code UnsortedSegmentSum} — TF's kernels on the CPU today, the GPU later. The points stay in a
 * graph variable; only centroids (K×d) and statistics cross to Java each iteration.
 *
 * <p>Follows faiss' semantics (ccvit.md §2): initial centroids are K distinct random points (or
 * k-means++ on a sample), each iteration assigns then recomputes means, and an empty cluster is
 * repaired by splitting a large one (pick j with probability ∝ size_j − 1, copy its centroid,
 * perturb the two copies by ±1/1024 in alternating dimensions, halve the count).
 */
public final class KMeans implements AutoCloseable {
  /** Per-iteration report. */
  public record Iteration(int index, double objective, int emptyRepaired, double seconds) {}

  /** The result: centroids [K, d], the objective per iteration (mean squared distance per point). */
  public record Result(float[] centroids, int k, int d, List<Iteration> iterations) {
    public double finalObjective() {
      return iterations.get(iterations.size() - 1).objective();
    }
  }

  /** Options. */
  public record Options(int k, int iterations, boolean kmeansPlusPlus, long seed, int chunkRows, int threads) {
    public Options {
      checkArgument(k >= 1, "k (%s) must be >= 1", k);
      checkArgument(iterations >= 1, "iterations (%s) must be >= 1", iterations);
    }
  }

  private final Graph graph = new Graph();
  private final Session session;
  private final int n;
  private final int d;
  private final int chunk;
  private final Placeholder<TFloat32> centroidsIn;
  private final Placeholder<TInt32> offset;
  private final Placeholder<TInt32> length;
  private final Operand<TFloat32> sums;
  private final Operand<TFloat32> counts;
  private final Operand<TFloat32> objective;
  private final Operand<TInt32> ids;
  private final float[] points;

  /**
   * Loads {@code points} [n, d] into a graph variable.
   *
   * @param chunkRows points per distance matrix (memory: chunkRows × K floats)
   */
  public KMeans(float[] points, int n, int d, int k, int chunkRows, int threads) {
    checkArgument(points.length == (long) n * d, "points length (%s) must be n*d = %s*%s", points.length, n, d);
    checkArgument(n >= k, "k-means needs at least k = %s points, got %s", k, n);
    this.n = n;
    this.d = d;
    this.points = points;
    this.chunk = Math.max(1, Math.min(n, chunkRows));
    Ops tf = Ops.create(graph);
    Placeholder<TFloat32> all = tf.withName("points_in").placeholder(TFloat32.class, Placeholder.shape(Shape.of(n, d)));
    Variable<TFloat32> x = tf.withName("points").variable(Shape.of(n, d), TFloat32.class);
    var load = tf.withName("load_points").assign(x, all);
    centroidsIn = tf.withName("centroids").placeholder(TFloat32.class, Placeholder.shape(Shape.of(k, d)));
    offset = tf.withName("offset").placeholder(TInt32.class, Placeholder.shape(Shape.scalar()));
    length = tf.withName("length").placeholder(TInt32.class, Placeholder.shape(Shape.scalar()));
    Operand<TFloat32> rows = tf.slice(tf.identity(x), tf.stack(List.of(offset, tf.constant(0))),
        tf.stack(List.of(length, tf.constant(d))));
    Compute c = Compute.fp32();
    Operand<TFloat32> scores = CentroidAssign.scores(tf, c, rows, centroidsIn);
    ids = tf.withName("ids").math.argMin(scores, tf.constant(1), TInt32.class);
    Operand<TFloat32> best = tf.min(scores, tf.constant(1));
    Operand<TFloat32> xNorm = tf.sum(tf.math.square(rows), tf.constant(1));
    objective = tf.withName("objective").sum(tf.math.maximum(tf.math.add(best, xNorm), tf.constant(0f)),
        tf.constant(0));
    sums = tf.withName("sums").math.unsortedSegmentSum(rows, ids, tf.constant(k));
    counts = tf.withName("counts").math.unsortedSegmentSum(tf.onesLike(best), ids, tf.constant(k));
    ConfigProto.Builder cfg = ConfigProto.newBuilder();
    if (threads > 0) {
      cfg.setIntraOpParallelismThreads(threads).setInterOpParallelismThreads(1);
    }
    session = new Session(graph, cfg.build());
    try (TFloat32 t = TFloat32.tensorOf(Shape.of(n, d), DataBuffers.of(points, true, false))) {
      session.runner().feed(all, t).addTarget(load).run();
    }
  }

  /** Runs k-means; {@code progress} receives each iteration. */
  public Result fit(Options o, Consumer<Iteration> progress) {
    int k = o.k();
    SplittableRandom rng = new SplittableRandom(o.seed());
    float[] cent = o.kmeansPlusPlus() ? plusPlus(k, rng) : randomPoints(k, rng);
    List<Iteration> its = new ArrayList<>();
    for (int it = 0; it < o.iterations(); it++) {
      long t0 = System.nanoTime();
      double[] s = new double[k * d];
      double[] cnt = new double[k];
      double obj = 0;
      for (int off = 0; off < n; off += chunk) {
        int len = Math.min(chunk, n - off);
        try (TFloat32 ct = TFloat32.tensorOf(Shape.of(k, d), DataBuffers.of(cent, true, false));
            TInt32 offT = TInt32.scalarOf(off);
            TInt32 lenT = TInt32.scalarOf(len);
            org.tensorflow.Result r = session.runner().feed(centroidsIn, ct).feed(offset, offT).feed(length, lenT)
                .fetch(sums).fetch(counts).fetch(objective).run()) {
          float[] ps = new float[k * d];
          ((TFloat32) r.get(0)).asRawTensor().data().asFloats().read(ps);
          float[] pc = new float[k];
          ((TFloat32) r.get(1)).asRawTensor().data().asFloats().read(pc);
          for (int i = 0; i < ps.length; i++) {
            s[i] += ps[i];
          }
          for (int i = 0; i < k; i++) {
            cnt[i] += pc[i];
          }
          obj += ((TFloat32) r.get(2)).getFloat();
        }
      }
      int repaired = update(cent, s, cnt, rng);
      Iteration rec = new Iteration(it, obj / n, repaired, (System.nanoTime() - t0) / 1e9);
      its.add(rec);
      if (progress != null) {
        progress.accept(rec);
      }
    }
    return new Result(cent, k, d, its);
  }

  /** Nearest-centroid ids of all points (for throughput measurement and tests). */
  public int[] assign(float[] centroids, int k) {
    int[] out = new int[n];
    for (int off = 0; off < n; off += chunk) {
      int len = Math.min(chunk, n - off);
      try (TFloat32 ct = TFloat32.tensorOf(Shape.of(k, d), DataBuffers.of(centroids, true, false));
          TInt32 offT = TInt32.scalarOf(off);
          TInt32 lenT = TInt32.scalarOf(len);
          org.tensorflow.Result r = session.runner().feed(centroidsIn, ct).feed(offset, offT).feed(length, lenT)
              .fetch(ids).run()) {
        int[] part = new int[len];
        ((TInt32) r.get(0)).asRawTensor().data().asInts().read(part);
        System.arraycopy(part, 0, out, off, len);
      }
    }
    return out;
  }

  /** New means; empty clusters repaired by faiss' split. Returns how many were repaired. */
  private int update(float[] cent, double[] s, double[] cnt, SplittableRandom rng) {
    int k = cnt.length;
    for (int j = 0; j < k; j++) {
      if (cnt[j] > 0) {
        for (int c = 0; c < d; c++) {
          cent[j * d + c] = (float) (s[j * d + c] / cnt[j]);
        }
      }
    }
    int repaired = 0;
    final double eps = 1.0 / 1024;
    for (int ci = 0; ci < k; ci++) {
      if (cnt[ci] > 0) {
        continue;
      }
      // pick a cluster to split with probability ∝ (size − 1)
      int cj;
      for (cj = 0; ; cj = (cj + 1) % k) {
        double p = (cnt[cj] - 1.0) / (n - k);
        if (rng.nextDouble() < p) {
          break;
        }
      }
      System.arraycopy(cent, cj * d, cent, ci * d, d);
      for (int c = 0; c < d; c++) {
        if (c % 2 == 0) {
          cent[ci * d + c] *= (float) (1 + eps);
          cent[cj * d + c] *= (float) (1 - eps);
        } else {
          cent[ci * d + c] *= (float) (1 - eps);
          cent[cj * d + c] *= (float) (1 + eps);
        }
      }
      cnt[ci] = cnt[cj] / 2;
      cnt[cj] -= cnt[ci];
      repaired++;
    }
    return repaired;
  }

  private float[] randomPoints(int k, SplittableRandom rng) {
    // k distinct indices by a partial Fisher-Yates over a lazily materialised permutation
    java.util.HashMap<Integer, Integer> swapped = new java.util.HashMap<>();
    float[] cent = new float[k * d];
    for (int i = 0; i < k; i++) {
      int j = i + rng.nextInt(n - i);
      int vj = swapped.getOrDefault(j, j);
      int vi = swapped.getOrDefault(i, i);
      swapped.put(j, vi);
      System.arraycopy(points, vj * d, cent, i * d, d);
    }
    return cent;
  }

  /** k-means++ (Arthur & Vassilvitskii 2007) seeding on a sample of at most 20·k points. */
  private float[] plusPlus(int k, SplittableRandom rng) {
    int m = Math.min(n, Math.max(20 * k, k));
    int[] sample = new int[m];
    for (int i = 0; i < m; i++) {
      sample[i] = m == n ? i : rng.nextInt(n);
    }
    float[] cent = new float[k * d];
    double[] dist = new double[m];
    java.util.Arrays.fill(dist, Double.POSITIVE_INFINITY);
    int first = sample[rng.nextInt(m)];
    System.arraycopy(points, first * d, cent, 0, d);
    for (int c = 1; c <= k; c++) {
      double total = 0;
      for (int i = 0; i < m; i++) {
        double dd = 0;
        int p = sample[i] * d;
        int q = (c - 1) * d;
        for (int t = 0; t < d; t++) {
          double diff = points[p + t] - cent[q + t];
          dd += diff * diff;
        }
        dist[i] = Math.min(dist[i], dd);
        total += dist[i];
      }
      if (c == k) {
        break;
      }
      double r = rng.nextDouble() * total;
      int pick = m - 1;
      for (int i = 0; i < m; i++) {
        r -= dist[i];
        if (r <= 0) {
          pick = i;
          break;
        }
      }
      System.arraycopy(points, sample[pick] * d, cent, c * d, d);
    }
    return cent;
  }

  @Override
  public void close() {
    session.close();
    graph.close();
  }
}
