package org.mimtf.methods.moca;

import org.mimtf.nn.Compute;
import org.mimtf.nn.Dense;
import org.mimtf.nn.InitScheme;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;

/**
 * A prediction-weight generator (paper §3.2.1, App. C.1; valeoai/MOCA {@code BoWPredictor} with
 * {@code residual=True, num_layers=2}): from the codebook rows c it generates one unit-norm
 * prediction weight per word,
 * <pre>  x̂ = l2norm(c);  w = l2norm( Linear(H→d)(ReLU(BN(Linear(D→H, no bias)(x̂)))) + skip(x̂) )</pre>
 * with skip the identity when d = D, else Linear(D→d). BatchNorm normalises across the K codebook
 * rows (the generator's "batch"), always in training mode (eps 1e-5; its running statistics are never
 * used, as the generator exists only in training, so none are kept).
 *
 * <p>Towers: the generator reads only the codebook, not the batch, so its BatchNorm statistics are
 * the same on every tower; {@link MocaMethod} builds it once per step, outside the towers.
 */
final class WeightGenerator {
  private final Dense fc1;
  private final Param bnGamma;
  private final Param bnBeta;
  private final Dense fc2;
  private final Dense skip;

  private WeightGenerator(Dense fc1, Param bnGamma, Param bnBeta, Dense fc2, Dense skip) {
    this.fc1 = fc1;
    this.bnGamma = bnGamma;
    this.bnBeta = bnBeta;
    this.fc2 = fc2;
    this.skip = skip;
  }

  /** Creates {@code <scope>/fc1/kernel}, {@code bn/{gamma,beta}}, {@code fc2/{kernel,bias}}, {@code skip/...}. */
  static WeightGenerator create(ParamStore ps, Ops tf, int in, int hidden, int out, InitScheme init, int layerId) {
    Dense a = Dense.create(ps, tf.withSubScope("fc1"), in, hidden, false, init.kernel(in, hidden, 1f), layerId);
    Ops bn = tf.withSubScope("bn");
    Param g = ps.create(bn, "gamma", Shape.of(hidden), Param.Kind.NORM, layerId, true, InitScheme.constant(1f));
    Param b = ps.create(bn, "beta", Shape.of(hidden), Param.Kind.NORM, layerId, true, InitScheme.zeros());
    Dense c = Dense.create(ps, tf.withSubScope("fc2"), hidden, out, true, init.kernel(hidden, out, 1f), layerId);
    Dense s = out == in ? null
        : Dense.create(ps, tf.withSubScope("skip"), in, out, true, init.kernel(in, out, 1f), layerId);
    return new WeightGenerator(a, g, b, c, s);
  }

  /** Prediction weights [K, d] (unit rows) from the codebook [K, D]. */
  Operand<TFloat32> apply(Ops tf, Compute c, Operand<TFloat32> words) {
    Operand<TFloat32> x = OnlineCodebook.l2norm(tf, words, 1e-12f);
    Operand<TFloat32> h = fc1.apply(tf, c, x);
    Operand<TFloat32> mean = tf.math.mean(h, tf.constant(0), Mean.keepDims(true));
    Operand<TFloat32> centered = tf.math.sub(h, mean);
    Operand<TFloat32> var = tf.math.mean(tf.math.square(centered), tf.constant(0), Mean.keepDims(true));
    h = tf.math.add(tf.math.mul(tf.math.mul(centered, tf.math.rsqrt(tf.math.add(var, tf.constant(1e-5f)))),
        bnGamma.read()), bnBeta.read());
    Operand<TFloat32> y = fc2.apply(tf, c, tf.nn.relu(h));
    y = tf.math.add(y, skip == null ? x : skip.apply(tf, c, x));
    return OnlineCodebook.l2norm(tf, y, 1e-12f);
  }
}
