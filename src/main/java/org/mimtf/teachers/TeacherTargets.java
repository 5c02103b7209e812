package org.mimtf.teachers;

import org.mimtf.config.proto.TeacherConfig;
import org.mimtf.nn.LayerNorm;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.math.Mean;
import org.tensorflow.types.TFloat32;

/** A teacher's features made into targets as {@code TeacherConfig.target_norm} says. */
public final class TeacherTargets {
  private TeacherTargets() {}

  /**
   * {@code features} [..., D] normalised by {@code norm}: unchanged, a parameter-free LayerNorm over D
   * per token (ε {@code eps}), or centred by the mean over every token of the batch (per dimension).
   */
  public static Operand<TFloat32> normalize(Ops tf, Operand<TFloat32> features, TeacherConfig.TargetNorm norm,
      float eps) {
    switch (norm) {
      case LAYER_NORM:
        return LayerNorm.normalize(tf, features, eps);
      case BATCH_CENTER: {
        int rank = features.shape().numDimensions();
        if (rank < 2) {
          throw new IllegalArgumentException("BATCH_CENTER needs features of a known rank >= 2 ([..., D]), got "
              + features.shape());
        }
        int[] axes = new int[rank - 1];
        for (int i = 0; i < axes.length; i++) {
          axes[i] = i;
        }
        return tf.math.sub(features, tf.math.mean(features, tf.constant(axes), Mean.keepDims(true)));
      }
      default:
        return features;
    }
  }
}
