package org.mimtf.nn;

import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * One model parameter: the variable (whose op name is its checkpoint key, e.g.
 * {@code encoder/blocks/3/attn/qkv/kernel}), the identity read that the model is built from (TF Java
 * crashes when gradients flow through a raw ref variable, see notes/tf-java.md §10), and what the
 * optimizer needs to know about it.
 *
 * @param name the variable's op name
 * @param variable the ref variable (assign, checkpoint)
 * @param read identity read of the variable; build the model from this
 * @param shape static shape
 * @param kind what the parameter is, which decides weight decay (common-vit.md §10)
 * @param layerId layer index for layer-wise lr decay: 0 embeddings, k+1 block k, depth+1 the rest
 * @param trainable false for fixed tables and EMA copies
 */
public record Param(
    String name,
    Variable<TFloat32> variable,
    Operand<TFloat32> read,
    Shape shape,
    Kind kind,
    int layerId,
    boolean trainable) {

  /** Parameter roles; BEiT's optimizer groups decide weight decay from them. */
  public enum Kind {
    /** Linear / conv kernels: decayed. */
    KERNEL,
    /** Biases (incl. q_bias, v_bias): not decayed. */
    BIAS,
    /** LayerNorm / BatchNorm scale and offset: not decayed. */
    NORM,
    /** Layer-scale gammas: not decayed (ndim 1). */
    GAMMA,
    /** CLS token and learned position embeddings: in BEiT's no_weight_decay() list. */
    NO_DECAY_TOKEN,
    /** Mask token: decayed in the BEiT family (shape (1,1,D), not in no_weight_decay). */
    MASK_TOKEN,
    /** Relative position bias table (2-D): decayed, as in BEiT pre-training. */
    REL_POS_TABLE,
    /** Non-trainable state (codebooks, queues, statistics). */
    STATE
  }

  /** Whether AdamW applies weight decay to this parameter. */
  public boolean decays() {
    return switch (kind) {
      case KERNEL, MASK_TOKEN, REL_POS_TABLE -> true;
      default -> false;
    };
  }

  /** Number of scalar values. */
  public long size() {
    return shape.size();
  }
}
