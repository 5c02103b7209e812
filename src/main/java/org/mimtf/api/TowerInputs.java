package org.mimtf.api;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.family.TType;

/**
 * One tower's inputs: its slice of every batch field (same names as the pipeline's fields) and the
 * per-step values.
 */
public record TowerInputs(Map<String, Operand<? extends TType>> fields, StepInputs step, int towerIndex) {
  @SuppressWarnings("unchecked")
  public Operand<TFloat32> floats(String name) {
    return (Operand<TFloat32>) field(name, TFloat32.class);
  }

  @SuppressWarnings("unchecked")
  public Operand<TInt32> ints(String name) {
    return (Operand<TInt32>) field(name, TInt32.class);
  }

  @SuppressWarnings("unchecked")
  public Operand<TBool> bools(String name) {
    return (Operand<TBool>) field(name, TBool.class);
  }

  private Operand<? extends TType> field(String name, Class<? extends TType> type) {
    Operand<? extends TType> o = fields.get(name);
    checkArgument(o != null, "the batch has no field '%s' (fields: %s)", name, fields.keySet());
    checkArgument(o.type() == type, "batch field '%s' is %s, not %s", name, o.type().getSimpleName(),
        type.getSimpleName());
    return o;
  }
}
