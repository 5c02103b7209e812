package org.mimtf.data.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A copy of a {@link Batch}'s first {@code size()} examples (batches are recycled by the pipeline, so
 * tests keep copies), compared field by field and bit for bit.
 */
record Snapshot(long firstElement, int size, Map<String, Object> fields) {
  static Snapshot of(Batch b) {
    Map<String, Object> f = new LinkedHashMap<>();
    for (FieldSpec s : b.specs().values()) {
      int n = b.size() * s.elementSize();
      f.put(s.name(), switch (s.dtype()) {
        case FLOAT32 -> Arrays.copyOf(b.floats(s.name()), n);
        case INT32 -> Arrays.copyOf(b.ints(s.name()), n);
        case INT64 -> Arrays.copyOf(b.longs(s.name()), n);
        case BOOL -> Arrays.copyOf(b.bools(s.name()), n);
      });
    }
    return new Snapshot(b.firstElement(), b.size(), f);
  }

  /** The next {@code n} batches of {@code p}, copied. */
  static List<Snapshot> take(Pipeline p, int n) {
    List<Snapshot> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(of(p.next()));
    }
    return out;
  }

  float[] floats(String name) {
    return (float[]) fields.get(name);
  }

  int[] ints(String name) {
    return (int[]) fields.get(name);
  }

  long[] longs(String name) {
    return (long[]) fields.get(name);
  }

  boolean[] bools(String name) {
    return (boolean[]) fields.get(name);
  }

  /** True when every field holds the same values, bit for bit (floats compared by their bits). */
  boolean sameAs(Snapshot o) {
    if (firstElement != o.firstElement || size != o.size || !fields.keySet().equals(o.fields.keySet())) {
      return false;
    }
    for (String k : fields.keySet()) {
      if (!equalArrays(fields.get(k), o.fields.get(k))) {
        return false;
      }
    }
    return true;
  }

  private static boolean equalArrays(Object a, Object b) {
    if (a instanceof float[] x && b instanceof float[] y) {
      if (x.length != y.length) {
        return false;
      }
      for (int i = 0; i < x.length; i++) {
        if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof int[] x && b instanceof int[] y) {
      return Arrays.equals(x, y);
    }
    if (a instanceof long[] x && b instanceof long[] y) {
      return Arrays.equals(x, y);
    }
    if (a instanceof boolean[] x && b instanceof boolean[] y) {
      return Arrays.equals(x, y);
    }
    return false;
  }

  /** Asserts equality field by field, naming the first field that differs. */
  static void assertSame(List<Snapshot> expected, List<Snapshot> actual, String what) {
    assertEquals(expected.size(), actual.size(), what + ": batch count");
    for (int i = 0; i < expected.size(); i++) {
      Snapshot e = expected.get(i);
      Snapshot a = actual.get(i);
      assertEquals(e.firstElement, a.firstElement, what + ": batch " + i + " first element");
      assertEquals(e.size, a.size, what + ": batch " + i + " size");
      assertEquals(e.fields.keySet(), a.fields.keySet(), what + ": batch " + i + " fields");
      for (String k : e.fields.keySet()) {
        Object x = e.fields.get(k);
        Object y = a.fields.get(k);
        String msg = what + ": batch " + i + " field " + k;
        if (x instanceof float[] fx) {
          float[] fy = (float[]) y;
          assertEquals(fx.length, fy.length, msg);
          for (int j = 0; j < fx.length; j++) {
            if (Float.floatToRawIntBits(fx[j]) != Float.floatToRawIntBits(fy[j])) {
              assertEquals(fx[j], fy[j], msg + " value " + j);
              throw new AssertionError(msg + " value " + j + ": bits differ");
            }
          }
        } else if (x instanceof int[] ix) {
          assertArrayEquals(ix, (int[]) y, msg);
        } else if (x instanceof long[] lx) {
          assertArrayEquals(lx, (long[]) y, msg);
        } else {
          assertArrayEquals((boolean[]) x, (boolean[]) y, msg);
        }
      }
    }
  }
}
