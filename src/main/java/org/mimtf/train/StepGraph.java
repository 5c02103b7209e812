package org.mimtf.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.methods.MimMethod;
import org.mimtf.methods.StepInputs;
import org.mimtf.methods.TowerInputs;
import org.mimtf.methods.TowerOutput;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.data.pipeline.Batch;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TType;

/**
 * The training graph of one run: batch placeholders, the method's tower(s), gradients, global-norm
 * clipping, AdamW, gradient accumulation, the step counter, the method's per-step updates, and the
 * host state that checkpoints carry (data position).
 *
 * <p>Run targets:
 * <ul>
 *   <li>{@link #applyTarget}: one whole optimizer step on the fed batch (with accumulation: the last
 *       micro-batch plus the update);
 *   <li>{@link #accumulateTarget}: add the fed micro-batch's gradients (accumulation only).
 * </ul>
 */
public final class StepGraph {
  // Fields are package-private: the Trainer and benchmarks drive them.

  final Graph graph;
  final Ops tf;
  final ParamStore params;
  final Map<String, Placeholder<? extends TType>> batch = new LinkedHashMap<>();
  final Placeholder<TFloat32> lr;
  final Placeholder<TFloat32> weightDecay;
  final Placeholder<TInt64> seed;
  final Map<String, Placeholder<TFloat32>> scalars = new LinkedHashMap<>();
  final Variable<TInt64> step;
  final Operand<TInt64> stepRead;
  final Variable<TInt64> dataPosition;
  final Placeholder<TInt64> dataPositionIn;
  final Op assignDataPosition;
  final Operand<TFloat32> loss;
  final Map<String, Operand<TFloat32>> lossTerms = new LinkedHashMap<>();
  final Map<String, Operand<TFloat32>> metrics = new LinkedHashMap<>();
  final Map<String, Operand<TFloat32>> images = new LinkedHashMap<>();
  final Operand<TFloat32> gradNorm;
  final Operand<TFloat32> paramNorm;
  final Op applyTarget;
  final Op accumulateTarget;
  final int accumSteps;
  final Op warmStart;

  public StepGraph(Graph graph, MimMethod method, List<FieldSpec> fields, OptimizerConfig opt, Compute compute,
      int accumSteps, long initSeed) {
    this.graph = graph;
    this.tf = Ops.create(graph);
    this.accumSteps = accumSteps;
    this.params = new ParamStore(new org.mimtf.nn.Initializers(initSeed));
    Ops in = tf.withSubScope("inputs");
    for (FieldSpec f : fields) {
      batch.put(f.name(), placeholder(in, f));
    }
    lr = in.withName("learning_rate").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
    weightDecay = in.withName("weight_decay").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
    seed = in.withName("step_seed").placeholder(TInt64.class, Placeholder.shape(Shape.of(2)));
    Ops train = tf.withSubScope("train");
    step = train.withName("global_step").variable(Shape.scalar(), TInt64.class);
    train.withInitScope().withName("global_step_init").assign(step, train.withInitScope().constant(0L));
    stepRead = train.withName("global_step_read").identity(step);
    dataPosition = train.withName("data_position").variable(Shape.scalar(), TInt64.class);
    train.withInitScope().withName("data_position_init").assign(dataPosition, train.withInitScope().constant(0L));
    dataPositionIn = in.withName("data_position").placeholder(TInt64.class, Placeholder.shape(Shape.scalar()));
    assignDataPosition = train.withName("set_data_position").assign(dataPosition, dataPositionIn);

    method.create(tf, params);
    Map<String, Operand<TFloat32>> scalarOps = new LinkedHashMap<>();
    // Scalars are declared by the method against the total length; the names are what matters here.
    for (String name : method.scalarSchedules(1).keySet()) {
      Placeholder<TFloat32> p = in.withName(name).placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
      scalars.put(name, p);
      scalarOps.put(name, p);
    }
    StepInputs stepInputs = new StepInputs(stepRead, seed, scalarOps, true);
    Map<String, Operand<? extends TType>> fieldOps = new LinkedHashMap<>(batch);
    TowerInputs towerInputs = new TowerInputs(fieldOps, stepInputs, 0);
    TowerOutput tower = method.tower(tf, compute, towerInputs);
    warmStart = method.warmStart(tf.withSubScope("warm_start"), compute, towerInputs);
    loss = tf.withName("loss").identity(tower.loss());
    tower.lossTerms().forEach((k, v) -> lossTerms.put(k, v));
    tower.metrics().forEach((k, v) -> metrics.put(k, v));
    tower.images().forEach((k, v) -> images.put(k, v));

    // Gradients of the trainable parameters.
    List<Param> trainable = params.trainable();
    List<Operand<?>> xs = new ArrayList<>();
    for (Param p : trainable) {
      xs.add(p.read());
    }
    Ops g = tf.withSubScope("gradients");
    var grads = g.gradients(loss, xs);
    List<Operand<TFloat32>> gradList = new ArrayList<>();
    for (int i = 0; i < trainable.size(); i++) {
      gradList.add(asFloat(grads.dy(i)));
    }

    List<Operand<TFloat32>> effective;
    List<Variable<TFloat32>> accs = new ArrayList<>();
    if (accumSteps > 1) {
      // Accumulators: sum of g/k over the micro-batches of one step.
      Ops acc = tf.withSubScope("accumulators");
      List<Op> adds = new ArrayList<>();
      for (int i = 0; i < trainable.size(); i++) {
        Param p = trainable.get(i);
        String flat = AdamW.flatName(p.name());
        Variable<TFloat32> a = acc.withName(flat + ".sum").variable(p.shape(), TFloat32.class);
        acc.withInitScope().withName(flat + ".sum_init").assign(a,
            acc.withInitScope().fill(acc.withInitScope().constant(p.shape().asArray()), acc.withInitScope().constant(0f)));
        accs.add(a);
        adds.add(acc.withName(flat + ".add").assignAdd(a,
            tf.math.div(gradList.get(i), tf.constant((float) accumSteps))));
      }
      accumulateTarget = acc.withControlDependencies(adds).withName("accumulate").noOp();
      Ops after = tf.withControlDependencies(List.of(accumulateTarget));
      effective = new ArrayList<>();
      for (Variable<TFloat32> a : accs) {
        effective.add(after.identity(a));
      }
    } else {
      accumulateTarget = null;
      effective = gradList;
    }

    // Global-norm clipping (torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) if < 1).
    Ops clipOps = tf.withSubScope("clip");
    gradNorm = clipOps.withName("grad_norm").identity(globalNorm(clipOps, effective));
    if (opt.getClipGradNorm() > 0) {
      Operand<TFloat32> scale = clipOps.math.minimum(tf.constant(1f),
          clipOps.math.div(tf.constant(opt.getClipGradNorm()), clipOps.math.add(gradNorm, tf.constant(1e-6f))));
      List<Operand<TFloat32>> clipped = new ArrayList<>();
      for (Operand<TFloat32> e : effective) {
        clipped.add(clipOps.math.mul(e, scale));
      }
      effective = clipped;
    }
    List<Operand<TFloat32>> reads = new ArrayList<>();
    for (Param p : trainable) {
      reads.add(p.read());
    }
    paramNorm = tf.withName("param_norm").identity(globalNorm(tf.withSubScope("param_norm"), reads));

    List<AdamW.Target> targets = new ArrayList<>();
    for (int i = 0; i < trainable.size(); i++) {
      Param p = trainable.get(i);
      float scale = opt.getLayerDecay() < 1f
          ? (float) Math.pow(opt.getLayerDecay(), maxLayer(trainable) - p.layerId())
          : 1f;
      targets.add(new AdamW.Target(p, effective.get(i), scale, p.decays()));
    }
    AdamW.Built adam = AdamW.build(tf, new AdamW.Hyper(opt.getBeta1(), opt.getBeta2(), opt.getEpsilon()), targets,
        stepRead, lr, weightDecay);
    List<Op> afterDeps = new ArrayList<>();
    afterDeps.add(adam.update());
    // Reset the accumulators once the update has read them.
    Ops reset = tf.withControlDependencies(List.of(adam.update()));
    for (Variable<TFloat32> a : accs) {
      afterDeps.add(reset.assign(a, reset.zerosLike(a)));
    }
    Ops afterUpdate = tf.withControlDependencies(afterDeps);
    List<Op> post = new ArrayList<>(method.afterUpdate(afterUpdate, stepInputs, List.of(tower)));
    post.add(afterUpdate.withName("increment_step").assignAdd(step, tf.constant(1L)));
    applyTarget = tf.withControlDependencies(post).withName("train_step").noOp();
  }

  /** Receives fetched images. */
  @FunctionalInterface
  public interface ImageSink {
    void accept(String name, TFloat32 images);
  }

  /**
   * Runs one micro-batch: feeds {@code b} and the step's values, fetches the loss, its terms, the
   * metrics and the norms, and runs the update ({@code apply}) or only the accumulation.
   *
   * @param images where to send the method's images this step, or null not to fetch them
   * @return fetched scalars by name ({@code loss}, each term, each metric, {@code grad_norm},
   *     {@code param_norm})
   */
  public Map<String, Double> step(Session s, Batch b, long step, double lr, double wd, Map<String, Double> scalarValues,
      long seedBase, boolean apply, ImageSink images) {
    List<Tensor> inputs = new ArrayList<>();
    try {
      Session.Runner r = s.runner();
      for (var e : batch.entrySet()) {
        Tensor tt = b.toTensor(e.getKey());
        inputs.add(tt);
        r.feed(e.getValue(), tt);
      }
      TFloat32 lrT = TFloat32.scalarOf((float) lr);
      inputs.add(lrT);
      TFloat32 wdT = TFloat32.scalarOf((float) wd);
      inputs.add(wdT);
      TInt64 seedT = TInt64.tensorOf(Shape.of(2), DataBuffers.of(new long[] {seedBase, step}, true, false));
      inputs.add(seedT);
      r.feed(this.lr, lrT).feed(weightDecay, wdT).feed(seed, seedT);
      for (var e : scalars.entrySet()) {
        TFloat32 v = TFloat32.scalarOf(scalarValues.get(e.getKey()).floatValue());
        inputs.add(v);
        r.feed(e.getValue(), v);
      }
      List<String> names = new ArrayList<>();
      names.add("loss");
      r.fetch(loss);
      for (var e : lossTerms.entrySet()) {
        names.add(e.getKey());
        r.fetch(e.getValue());
      }
      for (var e : metrics.entrySet()) {
        names.add(e.getKey());
        r.fetch(e.getValue());
      }
      names.add("grad_norm");
      r.fetch(gradNorm);
      names.add("param_norm");
      r.fetch(paramNorm);
      List<String> imageNames = new ArrayList<>();
      if (images != null) {
        for (var e : this.images.entrySet()) {
          imageNames.add(e.getKey());
          r.fetch(e.getValue());
        }
      }
      r.addTarget(apply ? applyTarget : accumulateTarget);
      try (Result res = r.run()) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
          out.put(names.get(i), (double) ((TFloat32) res.get(i)).getFloat());
        }
        for (int i = 0; i < imageNames.size(); i++) {
          images.accept(imageNames.get(i), (TFloat32) res.get(names.size() + i));
        }
        return out;
      }
    } finally {
      for (Tensor tt : inputs) {
        tt.close();
      }
    }
  }

  /** Runs the method's warm-start op (if any) fed with {@code b}; returns whether there was one. */
  public boolean warmStart(Session s, Batch b, long seedBase) {
    if (warmStart == null) {
      return false;
    }
    List<Tensor> inputs = new ArrayList<>();
    try {
      Session.Runner r = s.runner();
      for (var e : batch.entrySet()) {
        Tensor tt = b.toTensor(e.getKey());
        inputs.add(tt);
        r.feed(e.getValue(), tt);
      }
      TInt64 seedT = TInt64.tensorOf(Shape.of(2), DataBuffers.of(new long[] {seedBase, -1}, true, false));
      inputs.add(seedT);
      r.feed(seed, seedT).addTarget(warmStart).run();
      return true;
    } finally {
      inputs.forEach(Tensor::close);
    }
  }

  public ParamStore params() {
    return params;
  }

  private static int maxLayer(List<Param> ps) {
    int m = 0;
    for (Param p : ps) {
      m = Math.max(m, p.layerId());
    }
    return m;
  }

  static Operand<TFloat32> globalNorm(Ops tf, List<Operand<TFloat32>> ts) {
    List<Operand<TFloat32>> sq = new ArrayList<>();
    for (Operand<TFloat32> t : ts) {
      sq.add(tf.math.mul(tf.nn.l2Loss(t), tf.constant(2f)));
    }
    return tf.math.sqrt(tf.math.addN(sq));
  }

  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> asFloat(Output<?> o) {
    return (Operand<TFloat32>) (Operand<?>) o;
  }

  private static Placeholder<? extends TType> placeholder(Ops in, FieldSpec f) {
    long[] dims = f.batchShape(1);
    dims[0] = -1;
    Shape shape = Shape.of(dims);
    Ops named = in.withName(f.name());
    return switch (f.dtype()) {
      case FLOAT32 -> named.placeholder(TFloat32.class, Placeholder.shape(shape));
      case INT32 -> named.placeholder(TInt32.class, Placeholder.shape(shape));
      case INT64 -> named.placeholder(TInt64.class, Placeholder.shape(shape));
      case BOOL -> named.placeholder(TBool.class, Placeholder.shape(shape));
    };
  }
}
