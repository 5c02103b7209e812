package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * BEiT's learned relative position bias: a zero-initialised table [(2H−1)(2W−1)+3, heads] gathered by
 * {@link Positions#relativeIndex} into an additive attention bias [heads, N+1, N+1]. It needs the full,
 * fixed grid of tokens, so it serves encoders that keep all N tokens (mask tokens included).
 */
public final class RelativePositionBias {
  private final Param table;
  private final int gh;
  private final int gw;
  private final int heads;

  private RelativePositionBias(Param table, int gh, int gw, int heads) {
    this.table = table;
    this.gh = gh;
    this.gw = gw;
    this.heads = heads;
  }

  /** Creates {@code <scope>/relative_position_bias_table}. */
  public static RelativePositionBias create(ParamStore ps, Ops tf, int gh, int gw, int heads, int layerId) {
    Param t = ps.create(tf, "relative_position_bias_table", Shape.of(Positions.relativeTableSize(gh, gw), heads),
        Param.Kind.REL_POS_TABLE, layerId, true, InitScheme.zeros());
    return new RelativePositionBias(t, gh, gw, heads);
  }

  /** The bias [heads, N+1, N+1]. */
  public Operand<TFloat32> bias(Ops tf) {
    int size = gh * gw + 1;
    Operand<TFloat32> g = tf.gather(table.read(), tf.constant(Positions.relativeIndex(gh, gw)), tf.constant(0));
    Operand<TFloat32> b = tf.reshape(g, tf.constant(new int[] {size, size, heads}));
    return tf.linalg.transpose(b, tf.constant(new int[] {2, 0, 1}));
  }

  public Param table() {
    return table;
  }
}
