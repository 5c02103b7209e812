package org.mimtf.eval;

import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.nn.TopK;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Weighted k-nearest-neighbour classification of frozen features, as in DINO (Caron et al. 2021,
 * "Emerging Properties in Self-Supervised Vision Transformers", {@code eval_knn.py}).
 *
 * <p>Why this protocol: it has no trainable parts and no hyper-parameter search, so it measures the
 * geometry of the feature space itself and is cheap enough to run during pre-training. DINO's
 * recipe, reproduced exactly:
 * <ol>
 *   <li>L2-normalise every train and test feature row (a zero row stays zero, like
 *       {@code F.normalize}), so that a dot product is the cosine similarity;
 *   <li>for each test row take the {@code k} train rows of highest similarity;
 *   <li>weight neighbour j by {@code exp(sim_j / T)}: with T = 0.07 a neighbour at similarity 0.9
 *       counts e^(0.1/0.07) ≈ 4.2 times as much as one at 0.8, so close neighbours dominate instead of
 *       a plain majority;
 *   <li>score of class c = sum of the weights of the neighbours labelled c; the prediction is the
 *       class of highest score (ties: the lowest class id). Top-5 counts a hit when the true class is
 *       among the five highest scores (same tie rule; among the k highest when k &lt; 5), as DINO
 *       reports it.
 * </ol>
 *
 * <p>The heavy part, a {@code [chunk, d] × [d, nTrain]} similarity product, TopKV2 over the train
 * axis, the gather of neighbour labels and the one-hot × weight sum, runs in one TF graph. Test rows
 * are processed in chunks of {@code chunkRows} so that the similarity matrix stays bounded
 * ({@code chunkRows × nTrain} floats: 256 × 60,000 = 61 MB) whatever the test set size. The train
 * matrix is uploaded once and fed by reference to every chunk. The argmax and top-5 are taken in
 * Java, because TF's ArgMax does not promise which index wins a tie.
 *
 * <p>Figures (2-core VM shared with other jobs): raw Fashion-MNIST pixels, d = 784, 60k train / 10k
 * test, k = 20, T = 0.07: top-1 84.59%, top-5 98.82%, in 10–12 s (up to 25 s under heavy load);
 * chunks of 128, 256 or 1024 rows took the same time. The [d, nTrain] layout of the train matrix
 * made the product up to twice as fast as MatMul's transpose_b on [nTrain, d].
 */
public final class Knn {
  /** DINO's default number of neighbours (its evaluation also reports 10, 100 and 200). */
  public static final int DEFAULT_K = 20;
  /** DINO's default temperature. */
  public static final float DEFAULT_TEMPERATURE = 0.07f;
  /** Test rows per graph run: 256 × 60k train rows = 61 MB of similarities. */
  public static final int DEFAULT_CHUNK_ROWS = 256;

  private Knn() {}

  /**
   * The outcome of a k-NN evaluation.
   *
   * @param top1 fraction of test rows whose prediction equals their label
   * @param top5 fraction whose label is among the five best-scored classes; NaN when there are fewer
   *     than five classes (then it would be trivially 1)
   * @param predictions predicted class per test row
   * @param scores per test row and class, the summed neighbour weights, row-major [nTest, numClasses]
   */
  public record Result(double top1, double top5, int[] predictions, float[] scores) {}

  /** {@link #classify(float[], int[], float[], int[], int, int, int, float)} with DINO's k = 20, T = 0.07. */
  public static Result classify(float[] train, int[] trainLabels, float[] test, int[] testLabels, int d,
      int numClasses) {
    return classify(train, trainLabels, test, testLabels, d, numClasses, DEFAULT_K, DEFAULT_TEMPERATURE);
  }

  /** Classifies with {@link #DEFAULT_CHUNK_ROWS} test rows per graph run. */
  public static Result classify(float[] train, int[] trainLabels, float[] test, int[] testLabels, int d,
      int numClasses, int k, float temperature) {
    return classify(train, trainLabels, test, testLabels, d, numClasses, k, temperature, DEFAULT_CHUNK_ROWS);
  }

  /**
   * Classifies every test row by a temperature-weighted vote of its {@code k} nearest train rows.
   *
   * @param train train features, row-major [nTrain, d]
   * @param trainLabels train labels in [0, numClasses)
   * @param test test features, row-major [nTest, d]
   * @param testLabels test labels in [0, numClasses), used for the accuracies
   * @param d feature dimension
   * @param numClasses number of classes
   * @param k neighbours per test row, 1 ≤ k ≤ nTrain
   * @param temperature T &gt; 0 in the weight exp(sim / T)
   * @param chunkRows test rows per graph run (memory: chunkRows × nTrain floats); it can change
   *     scores in the last bit only (the MatMul kernel varies with the chunk's shape), and so a
   *     prediction only where two classes tie to within rounding
   */
  public static Result classify(float[] train, int[] trainLabels, float[] test, int[] testLabels, int d,
      int numClasses, int k, float temperature, int chunkRows) {
    int[] n = Features.checkSplits(train, trainLabels, test, testLabels, d, numClasses);
    int nTrain = n[0];
    int nTest = n[1];
    if (nTrain == 0) {
      throw new IllegalArgumentException("k-NN needs at least one train row, got 0");
    }
    if (k < 1 || k > nTrain) {
      throw new IllegalArgumentException("k must be in [1, nTrain = " + nTrain + "], got " + k);
    }
    if (!(temperature > 0f) || !Float.isFinite(temperature)) {
      throw new IllegalArgumentException("temperature must be a finite value > 0, got " + temperature);
    }
    if (chunkRows < 1) {
      throw new IllegalArgumentException("chunkRows must be >= 1, got " + chunkRows);
    }

    float[] trainT = l2NormalizedTransposed(train, nTrain, d);
    float[] scores = new float[nTest * numClasses];
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Placeholder<TFloat32> trainPh = tf.withName("train").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(d, nTrain)));
      Placeholder<TInt32> labelsPh = tf.withName("train_labels").placeholder(TInt32.class,
          Placeholder.shape(Shape.of(nTrain)));
      Placeholder<TFloat32> queryPh = tf.withName("query").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, d)));
      // [chunk, nTrain] cosine similarities (both sides are unit rows).
      Operand<TFloat32> sims = tf.linalg.matMul(queryPh, trainPh);
      TopK<TFloat32, TInt32> top = tf.nn.topK(sims, tf.constant(k), TInt32.class, TopK.sorted(true));
      Operand<TFloat32> weights = tf.math.exp(tf.math.div(top.values(), tf.constant(temperature)));
      Operand<TInt32> neighbourLabels = tf.gather(labelsPh, top.indices(), tf.constant(0));
      Operand<TFloat32> oneHot = tf.oneHot(neighbourLabels, tf.constant(numClasses), tf.constant(1f),
          tf.constant(0f));                                                // [chunk, k, C]
      Operand<TFloat32> classScores = tf.withName("scores").reduceSum(
          tf.math.mul(oneHot, tf.expandDims(weights, tf.constant(-1))), tf.constant(1)); // [chunk, C]

      try (TFloat32 trainTensor = TFloat32.tensorOf(Shape.of(d, nTrain), DataBuffers.of(trainT, true, false));
           TInt32 labelsT = TInt32.tensorOf(Shape.of(nTrain), DataBuffers.of(trainLabels, true, false))) {
        float[] chunk = new float[Math.min(chunkRows, Math.max(nTest, 1)) * d];
        for (int start = 0; start < nTest; start += chunkRows) {
          int rows = Math.min(chunkRows, nTest - start);
          float[] q = rows * d == chunk.length ? chunk : new float[rows * d];
          l2NormalizeRows(test, start, rows, d, q);
          try (TFloat32 qT = TFloat32.tensorOf(Shape.of(rows, d), DataBuffers.of(q, true, false));
               org.tensorflow.Result r = s.runner().feed(trainPh, trainTensor).feed(labelsPh, labelsT).feed(queryPh, qT)
                   .fetch(classScores).run()) {
            ((TFloat32) r.get(0)).asRawTensor().data().asFloats()
                .read(scores, start * numClasses, rows * numClasses);
          }
        }
      }
    }

    // DINO counts a top-5 hit among the first min(5, k) ranked classes: with k < 5 neighbours, classes
    // no neighbour voted for (score 0) are never hits.
    int top5Ranks = Math.min(5, k);
    int[] predictions = new int[nTest];
    int hits1 = 0;
    int hits5 = 0;
    for (int i = 0; i < nTest; i++) {
      predictions[i] = Features.argmax(scores, i * numClasses, numClasses);
      hits1 += predictions[i] == testLabels[i] ? 1 : 0;
      hits5 += numClasses >= 5 && Features.rank(scores, i * numClasses, numClasses, testLabels[i]) < top5Ranks ? 1 : 0;
    }
    double top1 = nTest == 0 ? Double.NaN : (double) hits1 / nTest;
    double top5 = nTest == 0 || numClasses < 5 ? Double.NaN : (double) hits5 / nTest;
    return new Result(top1, top5, predictions, scores);
  }

  /**
   * The L2-normalised train rows as a [d, nTrain] matrix: {@code query × train} with the train matrix
   * in this layout ran up to twice as fast as MatMul's transpose_b on the [nTrain, d] layout.
   */
  static float[] l2NormalizedTransposed(float[] x, int n, int d) {
    float[] row = new float[d];
    float[] out = new float[x.length];
    for (int i = 0; i < n; i++) {
      l2NormalizeRows(x, i, 1, d, row);
      for (int j = 0; j < d; j++) {
        out[j * n + i] = row[j];
      }
    }
    return out;
  }

  /** Row-wise x / max(‖x‖₂, 1e-12), the normalisation of PyTorch's {@code F.normalize}. */
  private static void l2NormalizeRows(float[] x, int firstRow, int rows, int d, float[] out) {
    for (int r = 0; r < rows; r++) {
      int off = (firstRow + r) * d;
      double ss = 0;
      for (int j = 0; j < d; j++) {
        ss += (double) x[off + j] * x[off + j];
      }
      double inv = 1.0 / Math.max(Math.sqrt(ss), 1e-12);
      for (int j = 0; j < d; j++) {
        out[r * d + j] = (float) (x[off + j] * inv);
      }
    }
  }
}
