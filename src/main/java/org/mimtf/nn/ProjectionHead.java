package org.mimtf.nn;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * The MoCo v3 projection MLP ({@code _build_mlp(num_layers, in, hidden, out, last_bn=True)}), used
 * per token by ConMIM (conmim.md §4): {@code num_layers − 1} times Linear(no bias) → BatchNorm →
 * ReLU, then Linear(no bias) → BatchNorm without affine parameters. Every BatchNorm uses the
 * statistics of the whole batch in training mode ({@link BatchNorm}); with towers, of all towers'
 * rows together ({@link #applyAcross}).
 *
 * <p>Variables: {@code <scope>/<l>/kernel} [in_l, out_l] and {@code <scope>/<l>/bn/{gamma,beta}} for
 * layer l (0-based), mirroring {@code projector.<3l>.weight}, {@code projector.<3l+1>.weight/bias}.
 * Linear kernels use the backbone's init (BEiT: truncated normal 0.02 at ±1σ).
 */
public final class ProjectionHead {
  private final List<Dense> linears;
  private final List<BatchNorm> norms;

  private ProjectionHead(List<Dense> linears, List<BatchNorm> norms) {
    this.linears = linears;
    this.norms = norms;
  }

  /**
   * Creates the head under {@code tf}'s scope.
   *
   * @param layers number of Linear layers (≥ 1)
   * @param init initialiser of the Linear kernels
   * @param layerId layer id of every parameter (lr decay; heads use depth + 1)
   */
  public static ProjectionHead create(ParamStore ps, Ops tf, int in, int hidden, int out, int layers, float bnEps,
      InitScheme init, int layerId) {
    checkArgument(layers >= 1, "a projection head needs at least one layer, got %s", layers);
    List<Dense> lin = new ArrayList<>();
    List<BatchNorm> bns = new ArrayList<>();
    for (int l = 0; l < layers; l++) {
      int d1 = l == 0 ? in : hidden;
      int d2 = l == layers - 1 ? out : hidden;
      Ops s = tf.withSubScope(Integer.toString(l));
      lin.add(Dense.create(ps, s, d1, d2, false, init.kernel(d1, d2, 1f), layerId));
      bns.add(BatchNorm.create(ps, s.withSubScope("bn"), d2, bnEps, l < layers - 1, layerId));
    }
    return new ProjectionHead(lin, bns);
  }

  /** Projects the rows of {@code x} [M, in] → [M, out], batch statistics over the M rows. */
  public Operand<TFloat32> apply(Ops tf, Compute c, Operand<TFloat32> x) {
    return applyAcross(tf, List.of(tf), c, List.of(x)).get(0);
  }

  /**
   * Projects every tower's rows, each BatchNorm normalising with the statistics of all towers' rows
   * (see {@link BatchNorm#applyAcross}); the Linear layers and ReLUs run on each tower's device.
   */
  public List<Operand<TFloat32>> applyAcross(Ops global, List<Ops> towers, Compute c, List<Operand<TFloat32>> xs) {
    List<Operand<TFloat32>> h = new ArrayList<>(xs);
    for (int l = 0; l < linears.size(); l++) {
      List<Operand<TFloat32>> z = new ArrayList<>();
      for (int i = 0; i < h.size(); i++) {
        z.add(linears.get(l).apply(towers.get(i), c, h.get(i)));
      }
      z = norms.get(l).applyAcross(global, towers, z);
      if (l < linears.size() - 1) {
        for (int i = 0; i < z.size(); i++) {
          z.set(i, towers.get(i).nn.relu(z.get(i)));
        }
      }
      h = z;
    }
    return h;
  }

  public int numLayers() {
    return linears.size();
  }

  public List<Dense> linears() {
    return linears;
  }

  public List<BatchNorm> norms() {
    return norms;
  }
}
