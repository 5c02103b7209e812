package org.mimtf.nn;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * BatchNorm1d in training mode over the rows of [M, C] inputs: {@code (x − μ) / √(σ² + ε) · γ + β}
 * with μ and the biased σ² taken over the rows of THE WHOLE BATCH (PyTorch's {@code BatchNorm1d} in
 * train mode; eps 1e-5 by default, common-vit.md §5). With {@code affine = false} there is no γ, β
 * (MoCo v3's last projector layer). Always fp32.
 *
 * <p><b>Several towers.</b> When a batch is split over devices, {@link #applyAcross} takes each tower's
 * rows and normalises all of them with the statistics of their union — a synchronised BatchNorm:
 * each tower sums its rows on its own device, the per-tower sums (C values each) are added across
 * towers, and the mean goes back to every tower; the variance is formed the same way from per-tower
 * sums of squared deviations from that global mean (two passes, so one tower and N towers agree to
 * float rounding). Differentiating the summed towers' losses through these ops gives the exact
 * gradient of the global-batch BatchNorm; a method that uses it declares
 * {@code MimMethod.couplesTowers()} so the trainer takes that one gradient.
 *
 * <p>No running statistics are kept: ConMIM (the official code never switches to eval mode) and
 * MoCo-v3-style projectors only ever use batch statistics, and they are not exported.
 */
public final class BatchNorm {
  private final Param gamma;
  private final Param beta;
  private final float eps;
  private final int dim;

  private BatchNorm(Param gamma, Param beta, float eps, int dim) {
    this.gamma = gamma;
    this.beta = beta;
    this.eps = eps;
    this.dim = dim;
  }

  /** Creates {@code <scope>/gamma} (ones) and {@code <scope>/beta} (zeros) when {@code affine}. */
  public static BatchNorm create(ParamStore ps, Ops tf, int dim, float eps, boolean affine, int layerId) {
    Param g = null;
    Param b = null;
    if (affine) {
      g = ps.create(tf, "gamma", Shape.of(dim), Param.Kind.NORM, layerId, true, InitScheme.constant(1f));
      b = ps.create(tf, "beta", Shape.of(dim), Param.Kind.NORM, layerId, true, InitScheme.zeros());
    }
    return new BatchNorm(g, b, eps, dim);
  }

  /** Normalises the rows of {@code x} [M, C] with their own batch statistics (one device). */
  public Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x) {
    return applyAcross(tf, List.of(tf), List.of(x)).get(0);
  }

  /**
   * Normalises every tower's rows {@code xs.get(i)} [M_i, C] with the statistics of all towers' rows
   * together. {@code towers.get(i)} builds tower i's ops (its device); {@code global} builds the few
   * cross-tower additions of C-vectors. With one tower this is {@link #apply}.
   */
  public List<Operand<TFloat32>> applyAcross(Ops global, List<Ops> towers, List<Operand<TFloat32>> xs) {
    checkArgument(towers.size() == xs.size(), "%s towers but %s inputs", towers.size(), xs.size());
    // Pass 1: per-tower row sums and counts -> global mean (the cross-tower sync point).
    List<Operand<TFloat32>> sums = new ArrayList<>();
    List<Operand<TFloat32>> counts = new ArrayList<>();
    for (int i = 0; i < xs.size(); i++) {
      Ops t = towers.get(i);
      checkArgument(xs.get(i).shape().numDimensions() == 2, "BatchNorm takes [rows, %s], got %s", dim,
          xs.get(i).shape());
      sums.add(t.sum(xs.get(i), t.constant(0)));
      counts.add(t.dtypes.cast(t.slice(t.shape(xs.get(i)), t.constant(new int[] {0}), t.constant(new int[] {1})),
          TFloat32.class));
    }
    Operand<TFloat32> n = addAll(global, counts);
    Operand<TFloat32> mean = global.math.div(addAll(global, sums), n);
    // Pass 2: per-tower sums of squared deviations from the global mean -> global biased variance.
    List<Operand<TFloat32>> centered = new ArrayList<>();
    List<Operand<TFloat32>> squares = new ArrayList<>();
    for (int i = 0; i < xs.size(); i++) {
      Ops t = towers.get(i);
      Operand<TFloat32> d = t.math.sub(xs.get(i), mean);
      centered.add(d);
      squares.add(t.sum(t.math.square(d), t.constant(0)));
    }
    Operand<TFloat32> var = global.math.div(addAll(global, squares), n);
    Operand<TFloat32> inv = global.math.rsqrt(global.math.add(var, global.constant(eps)));
    Operand<TFloat32> scale = gamma == null ? inv : global.math.mul(inv, gamma.read());
    List<Operand<TFloat32>> out = new ArrayList<>();
    for (int i = 0; i < xs.size(); i++) {
      Ops t = towers.get(i);
      Operand<TFloat32> y = t.math.mul(centered.get(i), scale);
      out.add(beta == null ? y : t.math.add(y, beta.read()));
    }
    return out;
  }

  private static Operand<TFloat32> addAll(Ops tf, List<Operand<TFloat32>> xs) {
    return xs.size() == 1 ? xs.get(0) : tf.math.addN(xs);
  }

  public int dim() {
    return dim;
  }

  /** γ, or null without affine parameters. */
  public Param gamma() {
    return gamma;
  }

  public Param beta() {
    return beta;
  }
}
