package org.mimtf.data.pipeline;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;

/**
 * Name, element type and per-example shape of one batch field, e.g. {@code image float32 [28, 28, 1]}
 * or {@code mask bool [49]}. The batch tensor has shape {@code [batch, ...shape]}.
 */
public record FieldSpec(String name, DType dtype, long[] shape) {
  /** Element types a batch field can have; they map one to one onto TF dtypes. */
  public enum DType {
    FLOAT32,
    INT32,
    INT64,
    BOOL
  }

  public FieldSpec {
    checkArgument(!name.isEmpty(), "field name is empty");
    for (long d : shape) {
      checkArgument(d > 0, "field %s: shape %s must be positive", name, Arrays.toString(shape));
    }
    shape = shape.clone();
  }

  public static FieldSpec of(String name, DType dtype, long... shape) {
    return new FieldSpec(name, dtype, shape);
  }

  /** Values per example. */
  public int elementSize() {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return Math.toIntExact(n);
  }

  /** Shape of a batch of {@code batch} examples. */
  public long[] batchShape(int batch) {
    long[] s = new long[shape.length + 1];
    s[0] = batch;
    System.arraycopy(shape, 0, s, 1, shape.length);
    return s;
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FieldSpec f && f.name.equals(name) && f.dtype == dtype && Arrays.equals(f.shape, shape);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + " " + dtype.name().toLowerCase() + " " + Arrays.toString(shape);
  }
}
