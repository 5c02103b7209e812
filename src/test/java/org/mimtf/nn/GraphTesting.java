package org.mimtf.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.types.TFloat32;

/** Small helpers for graph tests: run and read floats, finite differences. */
public final class GraphTesting {
  private GraphTesting() {}

  public static TFloat32 tensor(float[] data, long... shape) {
    return TFloat32.tensorOf(Shape.of(shape), DataBuffers.of(data, true, false));
  }

  /** Fetches {@code outputs} as float arrays, feeding {@code feeds}. */
  public static List<float[]> run(Session s, Map<Placeholder<TFloat32>, float[]> feeds,
      Map<Placeholder<TFloat32>, long[]> shapes, List<Operand<TFloat32>> outputs) {
    List<Tensor> in = new ArrayList<>();
    try {
      var r = s.runner();
      for (var e : feeds.entrySet()) {
        TFloat32 t = tensor(e.getValue(), shapes.get(e.getKey()));
        in.add(t);
        r.feed(e.getKey(), t);
      }
      for (Operand<TFloat32> o : outputs) {
        r.fetch(o);
      }
      try (Result res = r.run()) {
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < outputs.size(); i++) {
          TFloat32 t = (TFloat32) res.get(i);
          float[] a = new float[(int) t.shape().size()];
          t.asRawTensor().data().asFloats().read(a);
          out.add(a);
        }
        return out;
      }
    } finally {
      in.forEach(Tensor::close);
    }
  }

  public static float[] read(Session s, Operand<TFloat32> o) {
    try (Result res = s.runner().fetch(o).run()) {
      TFloat32 t = (TFloat32) res.get(0);
      float[] a = new float[(int) t.shape().size()];
      t.asRawTensor().data().asFloats().read(a);
      return a;
    }
  }

  /** n Gaussian values · scale + shift from {@code java.util.Random(seed)}. */
  public static float[] randn(int n, long seed, float scale, float shift) {
    java.util.Random r = new java.util.Random(seed);
    float[] a = new float[n];
    for (int i = 0; i < n; i++) {
      a[i] = (float) r.nextGaussian() * scale + shift;
    }
    return a;
  }

  /** Whether the graph holds an operation of this type. */
  public static boolean hasOp(org.tensorflow.Graph g, String type) {
    java.util.Iterator<org.tensorflow.GraphOperation> it = g.operations();
    while (it.hasNext()) {
      if (it.next().type().equals(type)) {
        return true;
      }
    }
    return false;
  }
}
