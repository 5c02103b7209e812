package org.mimtf.data.pipeline;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.collect.ImmutableMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * One batch of named host arrays, laid out exactly as the TF tensors they become ({@code [batch, ...]},
 * row-major). Workers write each example straight into its slot of these arrays, so turning a field
 * into a tensor is one bulk copy ({@link #toTensor}) and nothing is copied per element.
 *
 * <p>{@link #size()} may be smaller than the capacity for the last batch of a finite pass.
 */
public final class Batch {
  private final ImmutableMap<String, FieldSpec> specs;
  private final Map<String, Object> arrays;
  private final int capacity;
  private int size;
  /** Global index of the batch's first element in the pipeline's element stream (for resume). */
  private long firstElement;

  Batch(List<FieldSpec> fields, int capacity) {
    ImmutableMap.Builder<String, FieldSpec> s = ImmutableMap.builder();
    Map<String, Object> a = new LinkedHashMap<>();
    for (FieldSpec f : fields) {
      s.put(f.name(), f);
      int n = capacity * f.elementSize();
      a.put(f.name(), switch (f.dtype()) {
        case FLOAT32 -> new float[n];
        case INT32 -> new int[n];
        case INT64 -> new long[n];
        case BOOL -> new boolean[n];
      });
    }
    this.specs = s.buildKeepingLast();
    this.arrays = a;
    this.capacity = capacity;
    this.size = capacity;
  }

  /** A batch with the given fields and capacity, all zero; for tests and tools that fill batches by hand. */
  public static Batch allocate(List<FieldSpec> fields, int capacity) {
    return new Batch(fields, capacity);
  }

  public int size() {
    return size;
  }

  public int capacity() {
    return capacity;
  }

  void setSize(int size) {
    this.size = size;
  }

  public long firstElement() {
    return firstElement;
  }

  void setFirstElement(long firstElement) {
    this.firstElement = firstElement;
  }

  public ImmutableMap<String, FieldSpec> specs() {
    return specs;
  }

  public boolean has(String name) {
    return specs.containsKey(name);
  }

  public FieldSpec spec(String name) {
    FieldSpec f = specs.get(name);
    checkArgument(f != null, "batch has no field '%s' (fields: %s)", name, specs.keySet());
    return f;
  }

  public float[] floats(String name) {
    return (float[]) array(name, FieldSpec.DType.FLOAT32);
  }

  public int[] ints(String name) {
    return (int[]) array(name, FieldSpec.DType.INT32);
  }

  public long[] longs(String name) {
    return (long[]) array(name, FieldSpec.DType.INT64);
  }

  public boolean[] bools(String name) {
    return (boolean[]) array(name, FieldSpec.DType.BOOL);
  }

  private Object array(String name, FieldSpec.DType want) {
    FieldSpec f = spec(name);
    checkArgument(f.dtype() == want, "field '%s' is %s, not %s", name, f.dtype(), want);
    return arrays.get(name);
  }

  /**
   * Copies field {@code name} (its first {@link #size()} examples) into a new TF tensor; the caller
   * owns and must close it.
   */
  public Tensor toTensor(String name) {
    FieldSpec f = spec(name);
    Shape shape = Shape.of(f.batchShape(size));
    int n = size * f.elementSize();
    return switch (f.dtype()) {
      case FLOAT32 -> TFloat32.tensorOf(shape, DataBuffers.of((float[]) arrays.get(name), true, false).narrow(n));
      case INT32 -> TInt32.tensorOf(shape, DataBuffers.of((int[]) arrays.get(name), true, false).narrow(n));
      case INT64 -> TInt64.tensorOf(shape, DataBuffers.of((long[]) arrays.get(name), true, false).narrow(n));
      case BOOL -> TBool.tensorOf(shape, DataBuffers.of((boolean[]) arrays.get(name), true, false).narrow(n));
    };
  }
}
