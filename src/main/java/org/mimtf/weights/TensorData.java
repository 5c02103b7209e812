package org.mimtf.weights;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.Arrays;

/**
 * One float32 tensor held on the host, row-major (C order) as PyTorch, NumPy and TensorFlow lay out
 * contiguous tensors: the unit weights travel in between a PyTorch state dict and a mimtf checkpoint.
 * Integer tensors of a state dict (BEiT's {@code relative_position_index}) are held as floats too;
 * they are only compared, never trained.
 */
public record TensorData(long[] shape, float[] data) {
  public TensorData {
    checkArgument(count(shape) == data.length, "shape %s holds %s values, data has %s", Arrays.toString(shape),
        count(shape), data.length);
  }

  /** Number of values of {@code shape}. */
  public static long count(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  /** The shape as PyTorch prints it, e.g. {@code [768, 3, 16, 16]}. */
  public String shapeString() {
    return Arrays.toString(shape);
  }

  public boolean hasShape(long... s) {
    return Arrays.equals(shape, s);
  }

  /** The same values under another shape of equal size. */
  public TensorData reshape(long... s) {
    return new TensorData(s.clone(), data);
  }

  /** Transpose of a 2-D tensor: [a, b] → [b, a] (PyTorch's Linear weight [out, in] ↔ a kernel [in, out]). */
  public TensorData transpose2d() {
    checkArgument(shape.length == 2, "transpose2d needs a 2-D tensor, got %s", shapeString());
    int a = (int) shape[0];
    int b = (int) shape[1];
    float[] out = new float[data.length];
    for (int i = 0; i < a; i++) {
      for (int j = 0; j < b; j++) {
        out[j * a + i] = data[i * b + j];
      }
    }
    return new TensorData(new long[] {b, a}, out);
  }

  /** Rows [from, to) of the first axis. */
  public TensorData rows(int from, int to) {
    int row = (int) (data.length / shape[0]);
    long[] s = shape.clone();
    s[0] = to - from;
    return new TensorData(s, Arrays.copyOfRange(data, from * row, to * row));
  }

  /** Concatenation along the first axis. */
  public static TensorData concatRows(TensorData... parts) {
    long rows = 0;
    int total = 0;
    for (TensorData p : parts) {
      checkArgument(Arrays.equals(Arrays.copyOfRange(p.shape, 1, p.shape.length),
          Arrays.copyOfRange(parts[0].shape, 1, parts[0].shape.length)), "cannot concatenate %s and %s",
          p.shapeString(), parts[0].shapeString());
      rows += p.shape[0];
      total += p.data.length;
    }
    float[] out = new float[total];
    int at = 0;
    for (TensorData p : parts) {
      System.arraycopy(p.data, 0, out, at, p.data.length);
      at += p.data.length;
    }
    long[] s = parts[0].shape.clone();
    s[0] = rows;
    return new TensorData(s, out);
  }

  public static TensorData zeros(long... shape) {
    return new TensorData(shape.clone(), new float[(int) count(shape)]);
  }

  /** Largest absolute value (0 for an empty tensor). */
  public float maxAbs() {
    float m = 0;
    for (float v : data) {
      m = Math.max(m, Math.abs(v));
    }
    return m;
  }

  /** Largest absolute difference to {@code o} of the same shape. */
  public float maxAbsDiff(TensorData o) {
    checkArgument(Arrays.equals(shape, o.shape), "shapes differ: %s vs %s", shapeString(), o.shapeString());
    float m = 0;
    for (int i = 0; i < data.length; i++) {
      m = Math.max(m, Math.abs(data[i] - o.data[i]));
    }
    return m;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TensorData t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "TensorData" + shapeString();
  }
}
