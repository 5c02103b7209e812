package org.mimtf.api;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * Per-step values the trainer feeds: the optimizer step, a seed for the step's random ops (drop
 * path, in-graph sampling) that makes resumed runs draw exactly what an uninterrupted run draws, and
 * the method's scheduled scalars.
 *
 * @param step number of optimizer updates done before this step (int64 scalar)
 * @param seed stateless-RNG seed [2] of this step
 * @param scalars the method's {@link MimMethod#scalarSchedules} values, by name
 * @param training false when a graph is built for inference (no drop path)
 */
public record StepInputs(Operand<TInt64> step, Operand<TInt64> seed, Map<String, Operand<TFloat32>> scalars,
    boolean training) {
  public Operand<TFloat32> scalar(String name) {
    Operand<TFloat32> s = scalars.get(name);
    checkArgument(s != null, "no scheduled scalar '%s' (declared: %s)", name, scalars.keySet());
    return s;
  }

  /** The drop-path seed in training, null at inference. */
  public Operand<TInt64> dropSeed() {
    return training ? seed : null;
  }
}
