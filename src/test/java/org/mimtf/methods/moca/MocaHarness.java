package org.mimtf.methods.moca;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.data.pipeline.Pipeline;
import org.mimtf.data.recipe.PipelineFactory;
import org.mimtf.nn.Compute;
import org.mimtf.train.SessionConfigs;
import org.mimtf.train.StepGraph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * A MOCA training graph on real pipeline batches (the tiny Fashion-MNIST recipe), with helpers to run
 * steps and to fetch anything of the graph during a step or outside one.
 */
final class MocaHarness implements AutoCloseable {
  final Recipe recipe;
  final MocaMethod method;
  final StepGraph sg;
  final Session s;
  final List<Batch> batches = new ArrayList<>();

  MocaHarness(Recipe r, int batches, int accum, List<String> devices) {
    this.recipe = r;
    this.method = new MocaMethod(r);
    List<FieldSpec> fields;
    try (Pipeline p = PipelineFactory.training(r, method.extraStages(), 0)) {
      fields = p.fields();
      for (int i = 0; i < batches; i++) {
        this.batches.add(copy(p.next(), fields));
      }
    }
    sg = new StepGraph(method, fields, r.getOptimizer(), Compute.fp32(), accum, r.getModel().getInitSeed(), devices);
    // Grappler off: the tests run many different fetch sets, each of which would be optimised anew.
    var cfg = SessionConfigs.training(r.getTraining(), devices).toBuilder()
        .setGraphOptions(org.tensorflow.proto.GraphOptions.newBuilder().setRewriteOptions(
            org.tensorflow.proto.RewriterConfig.newBuilder().setDisableMetaOptimizer(true)))
        .build();
    s = new Session(sg.graph(), cfg);
    s.initialize();
  }

  MocaHarness(Recipe r, int batches) {
    this(r, batches, 1, List.of());
  }

  static Batch copy(Batch b, List<FieldSpec> fields) {
    Batch c = Batch.allocate(fields, b.size());
    for (FieldSpec f : fields) {
      switch (f.dtype()) {
        case FLOAT32 -> System.arraycopy(b.floats(f.name()), 0, c.floats(f.name()), 0, b.floats(f.name()).length);
        case INT32 -> System.arraycopy(b.ints(f.name()), 0, c.ints(f.name()), 0, b.ints(f.name()).length);
        case INT64 -> System.arraycopy(b.longs(f.name()), 0, c.longs(f.name()), 0, b.longs(f.name()).length);
        case BOOL -> System.arraycopy(b.bools(f.name()), 0, c.bools(f.name()), 0, b.bools(f.name()).length);
      }
    }
    return c;
  }

  Map<String, Double> step(long t, double lr, double momentum) {
    return sg.step(s, batches.get((int) (t % batches.size())), t, lr, 0.05, Map.of(MocaMethod.MOMENTUM, momentum), 0,
        true, null);
  }

  /**
   * Runs step {@code t} ({@code target} true: the update; false: only accumulation) or, with
   * {@code target} null, only what the fetches need, and returns the fetches as float arrays (ints and
   * longs converted).
   */
  List<float[]> run(long t, double lr, double momentum, Boolean target, List<Operand<?>> fetch) {
    List<Tensor> owned = new ArrayList<>();
    try {
      Session.Runner r = sg.feed(s, batches.get((int) (t % batches.size())), t, lr, 0.05,
          Map.of(MocaMethod.MOMENTUM, momentum), 0, owned);
      fetch.forEach(r::fetch);
      if (target != null) {
        r.addTarget(sg.trainTarget(target));
      }
      try (Result res = r.run()) {
        List<float[]> out = new ArrayList<>();
        for (int i = 0; i < fetch.size(); i++) {
          out.add(floats(res.get(i)));
        }
        return out;
      }
    } finally {
      owned.forEach(Tensor::close);
    }
  }

  /** Reads variables or other operands that need no feed. */
  List<float[]> read(List<Operand<?>> ops) {
    Session.Runner r = s.runner();
    ops.forEach(r::fetch);
    try (Result res = r.run()) {
      List<float[]> out = new ArrayList<>();
      for (int i = 0; i < ops.size(); i++) {
        out.add(floats(res.get(i)));
      }
      return out;
    }
  }

  float[] read(Operand<?> op) {
    return read(List.of(op)).get(0);
  }

  /** A variable by op name. */
  float[] variable(String name) {
    Session.Runner r = s.runner().fetch(name);
    try (Result res = r.run()) {
      return floats(res.get(0));
    }
  }

  static float[] floats(Tensor t) {
    int n = (int) t.shape().size();
    float[] a = new float[n];
    if (t instanceof TFloat32 f) {
      f.asRawTensor().data().asFloats().read(a);
    } else if (t instanceof TInt32 i) {
      int[] v = new int[n];
      i.asRawTensor().data().asInts().read(v);
      for (int k = 0; k < n; k++) {
        a[k] = v[k];
      }
    } else if (t instanceof TInt64 l) {
      long[] v = new long[n];
      l.asRawTensor().data().asLongs().read(v);
      for (int k = 0; k < n; k++) {
        a[k] = v[k];
      }
    } else {
      throw new IllegalArgumentException("unsupported tensor type " + t.dataType());
    }
    return a;
  }

  @Override
  public void close() {
    s.close();
    sg.close();
  }
}
