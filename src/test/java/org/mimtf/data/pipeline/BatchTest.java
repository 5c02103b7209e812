package org.mimtf.data.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/** {@link Batch}: layout, field access, and {@link Batch#toTensor} (shape, dtype, values). */
class BatchTest {
  static final List<FieldSpec> FIELDS = List.of(
      FieldSpec.of("image", FieldSpec.DType.FLOAT32, 2, 3, 1),
      FieldSpec.of("label", FieldSpec.DType.INT32),
      FieldSpec.of("ids", FieldSpec.DType.INT64, 2),
      FieldSpec.of("mask", FieldSpec.DType.BOOL, 5));

  /** A batch of capacity 4 whose values are distinct functions of their position. */
  static Batch filled() {
    Batch b = Batch.allocate(FIELDS, 4);
    float[] img = b.floats("image");
    for (int i = 0; i < img.length; i++) {
      img[i] = i * 0.5f - 3f;
    }
    int[] label = b.ints("label");
    for (int i = 0; i < label.length; i++) {
      label[i] = 10 * i + 1;
    }
    long[] ids = b.longs("ids");
    for (int i = 0; i < ids.length; i++) {
      ids[i] = (1L << 40) + i;
    }
    boolean[] mask = b.bools("mask");
    for (int i = 0; i < mask.length; i++) {
      mask[i] = i % 3 == 0;
    }
    return b;
  }

  @Test
  void allocateLaysOutEveryFieldAsBatchTimesElementSize() {
    Batch b = Batch.allocate(FIELDS, 4);
    assertEquals(4, b.size());
    assertEquals(4, b.capacity());
    assertEquals(4 * 6, b.floats("image").length);
    assertEquals(4, b.ints("label").length);
    assertEquals(4 * 2, b.longs("ids").length);
    assertEquals(4 * 5, b.bools("mask").length);
    assertEquals(List.of("image", "label", "ids", "mask"), List.copyOf(b.specs().keySet()));
    assertThrows(IllegalArgumentException.class, () -> b.floats("label"), "wrong dtype");
    assertThrows(IllegalArgumentException.class, () -> b.floats("nope"), "unknown field");
  }

  @Test
  void toTensorHasTheFieldsShapeDtypeAndValues() {
    Batch b = filled();
    try (Tensor t = b.toTensor("image")) {
      assertInstanceOf(TFloat32.class, t);
      assertEquals(DataType.DT_FLOAT, t.dataType());
      assertEquals(Shape.of(4, 2, 3, 1), t.shape());
      float[] out = new float[24];
      ((TFloat32) t).copyTo(DataBuffers.of(out, false, false));
      assertArrayEquals(b.floats("image"), out);
      assertEquals(b.floats("image")[1 * 6 + 0 * 3 + 2], ((TFloat32) t).getFloat(1, 0, 2, 0), "row-major [1, 0, 2, 0]");
    }
    try (Tensor t = b.toTensor("label")) {
      assertInstanceOf(TInt32.class, t);
      assertEquals(DataType.DT_INT32, t.dataType());
      assertEquals(Shape.of(4), t.shape());
      int[] out = new int[4];
      ((TInt32) t).copyTo(DataBuffers.of(out, false, false));
      assertArrayEquals(new int[] {1, 11, 21, 31}, out);
    }
    try (Tensor t = b.toTensor("ids")) {
      assertInstanceOf(TInt64.class, t);
      assertEquals(DataType.DT_INT64, t.dataType());
      assertEquals(Shape.of(4, 2), t.shape());
      long[] out = new long[8];
      ((TInt64) t).copyTo(DataBuffers.of(out, false, false));
      assertArrayEquals(b.longs("ids"), out);
      assertEquals((1L << 40) + 5, ((TInt64) t).getLong(2, 1));
    }
    try (Tensor t = b.toTensor("mask")) {
      assertInstanceOf(TBool.class, t);
      assertEquals(DataType.DT_BOOL, t.dataType());
      assertEquals(Shape.of(4, 5), t.shape());
      boolean[] out = new boolean[20];
      ((TBool) t).copyTo(DataBuffers.of(out, false, false));
      assertArrayEquals(b.bools("mask"), out);
    }
  }

  @Test
  void toTensorOfAPartialBatchHasOnlyItsExamples() {
    Batch b = filled();
    b.setSize(3);
    try (TFloat32 t = (TFloat32) b.toTensor("image");
        TInt32 l = (TInt32) b.toTensor("label");
        TInt64 ids = (TInt64) b.toTensor("ids");
        TBool m = (TBool) b.toTensor("mask")) {
      assertEquals(Shape.of(3, 2, 3, 1), t.shape());
      float[] out = new float[18];
      t.copyTo(DataBuffers.of(out, false, false));
      assertArrayEquals(Arrays.copyOf(b.floats("image"), 18), out);
      assertEquals(Shape.of(3), l.shape());
      assertEquals(21, l.getInt(2));
      assertEquals(Shape.of(3, 2), ids.shape());
      assertEquals(Shape.of(3, 5), m.shape());
      boolean[] mask = new boolean[15];
      m.copyTo(DataBuffers.of(mask, false, false));
      assertArrayEquals(Arrays.copyOf(b.bools("mask"), 15), mask);
    }
  }

  @Test
  void toTensorOfAPipelineBatch() {
    try (Pipeline p = new Pipeline(new IndexedSource(7), PipelineTest.processor(),
        PipelineOptions.singlePass(4, 2, 0))) {
      p.next();
      Batch b = p.next(); // the partial one: 3 of 4
      assertEquals(3, b.size());
      try (TFloat32 img = (TFloat32) b.toTensor("image"); TInt32 idx = (TInt32) b.toTensor("index")) {
        assertEquals(Shape.of(3, IndexedSource.H, IndexedSource.W, 1), img.shape());
        for (int i = 0; i < 3; i++) {
          assertEquals(4 + i, idx.getInt(i));
          assertEquals(4 + i + 0.75f, img.getFloat(i, 1, 1, 0), "pixel 3 of example " + (4 + i));
        }
      }
    }
  }
}
