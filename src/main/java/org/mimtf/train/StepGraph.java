package org.mimtf.train;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.methods.api.TrainingTask;
import org.mimtf.methods.api.StepInputs;
import org.mimtf.methods.api.TowerInputs;
import org.mimtf.methods.api.TowerOutput;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.types.TBool;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;
import org.tensorflow.types.family.TType;

/**
 * The training graph of one run: batch placeholders, the method's towers, gradients averaged over
 * towers, global-norm clipping, AdamW, gradient accumulation, mixed-precision loss scaling, the step
 * counter, the method's per-step updates, and the host state checkpoints carry (data position).
 *
 * <p><b>Towers.</b> With N devices the fed batch is split in N along its first axis; tower i builds
 * the method's forward pass and its gradients on device i; the gradients are averaged (AddN / N on
 * the variables' device) and one update follows. Variables exist once. TF Java cannot place the
 * ops {@code tf.gradients} adds (the C API has no device for them), so the graph is built in a
 * scratch graph, every node under {@code tower_<i>/} without a device is assigned device i in the
 * GraphDef, and the result is imported into the graph the session runs.
 *
 * <p><b>Coupled towers.</b> When a method's losses depend on other towers' examples (BatchNorm over
 * the global batch, {@link TrainingTask#couplesTowers}), averaging per-tower gradients would drop the
 * cross-tower terms. Then every tower's forward pass is built first, the method joins them
 * ({@link TrainingTask#joinTowers}), and one gradient of the towers' mean loss is taken under
 * {@code coupled_gradients/}; {@link #place} puts each of its ops on the device of the tower ops it
 * reads.
 *
 * <p><b>Precision.</b> Matmuls run in {@link Compute}'s type; fp16 adds dynamic loss scaling: the loss
 * is multiplied by a scale before differentiation, gradients are unscaled, and if any is not finite
 * the update is skipped exactly (parameters and slots keep their values), the scale halves and
 * {@code skipped_steps} counts it; after {@value #GROWTH_INTERVAL} good steps the scale doubles.
 *
 * <p>Run targets: {@link #applyTarget} (one optimizer step on the fed batch; with accumulation the last
 * micro-batch plus the update) and {@link #accumulateTarget} (add a micro-batch's gradients).
 */
public final class StepGraph implements AutoCloseable {
  /** Good fp16 steps before the loss scale doubles (torch.cuda.amp.GradScaler's default). */
  static final int GROWTH_INTERVAL = 2000;
  /** Initial fp16 loss scale (2^16, as GradScaler). */
  static final float INITIAL_LOSS_SCALE = 65536f;

  final Graph graph;
  final ParamStore params;
  final Map<String, Output<?>> batch = new LinkedHashMap<>();
  final Output<?> lr;
  final Output<?> weightDecay;
  final Output<?> seed;
  final Map<String, Output<?>> scalars = new LinkedHashMap<>();
  final Output<?> step;
  final Output<?> dataPosition;
  final Output<?> dataPositionIn;
  final GraphOperation assignDataPosition;
  final Output<?> loss;
  final Map<String, Output<?>> lossTerms = new LinkedHashMap<>();
  final Map<String, Output<?>> metrics = new LinkedHashMap<>();
  final Map<String, Output<?>> images = new LinkedHashMap<>();
  final Output<?> gradNorm;
  final Output<?> paramNorm;
  final GraphOperation applyTarget;
  final GraphOperation accumulateTarget;
  final GraphOperation warmStart;
  final int accumSteps;
  final int towers;
  final List<String> devices;
  private java.nio.file.Path placementFile;

  /** The graph-building half: everything in the scratch graph, before placement. */
  private static final class Built {
    final Map<String, Operand<?>> batch = new LinkedHashMap<>();
    final Map<String, Operand<?>> scalars = new LinkedHashMap<>();
    final Map<String, Operand<?>> lossTerms = new LinkedHashMap<>();
    final Map<String, Operand<?>> metrics = new LinkedHashMap<>();
    final Map<String, Operand<?>> images = new LinkedHashMap<>();
    Operand<?> lr;
    Operand<?> weightDecay;
    Operand<?> seed;
    Operand<?> step;
    Operand<?> dataPosition;
    Operand<?> dataPositionIn;
    Op assignDataPosition;
    Operand<?> loss;
    Operand<?> gradNorm;
    Operand<?> paramNorm;
    Op applyTarget;
    Op accumulateTarget;
    Op warmStart;
  }

  /**
   * Builds the graph of one run.
   *
   * @param devices TF device names of the towers (e.g. {@code /device:CPU:0, /device:CPU:1}); empty
   *     for one tower with TF's default placement
   */
  public StepGraph(TrainingTask method, List<FieldSpec> fields, OptimizerConfig opt, Compute compute, int accumSteps,
      long initSeed, List<String> devices) {
    this.accumSteps = accumSteps;
    this.devices = List.copyOf(devices);
    this.towers = Math.max(1, devices.size());
    this.params = new ParamStore(new org.mimtf.nn.Initializers(initSeed));
    // One tower with default placement builds straight into the step's graph; several towers build
    // in a scratch graph, place the gradient ops on their towers' devices, and import the result.
    // Either way the handles are then looked up by name in the step's graph.
    boolean single = towers == 1 && devices.isEmpty();
    Graph scratch = single ? null : new Graph();
    try {
      Graph target = single ? new Graph() : scratch;
      Built b = build(target, method, fields, opt, compute);
      if (single) {
        graph = target;
      } else {
        graph = new Graph();
        graph.importGraphDef(place(scratch.toGraphDef(), this.devices));
      }
      lr = find(b.lr);
      weightDecay = find(b.weightDecay);
      seed = find(b.seed);
      step = find(b.step);
      dataPosition = find(b.dataPosition);
      dataPositionIn = find(b.dataPositionIn);
      assignDataPosition = op(b.assignDataPosition);
      loss = find(b.loss);
      gradNorm = find(b.gradNorm);
      paramNorm = find(b.paramNorm);
      applyTarget = op(b.applyTarget);
      accumulateTarget = b.accumulateTarget == null ? null : op(b.accumulateTarget);
      warmStart = b.warmStart == null ? null : op(b.warmStart);
      b.batch.forEach((k, v) -> batch.put(k, find(v)));
      b.scalars.forEach((k, v) -> scalars.put(k, find(v)));
      b.lossTerms.forEach((k, v) -> lossTerms.put(k, find(v)));
      b.metrics.forEach((k, v) -> metrics.put(k, find(v)));
      b.images.forEach((k, v) -> images.put(k, find(v)));
    } finally {
      if (scratch != null) {
        scratch.close();
      }
    }
  }

  /** One tower, default placement (tests and benchmarks). */
  public StepGraph(TrainingTask method, List<FieldSpec> fields, OptimizerConfig opt, Compute compute, int accumSteps,
      long initSeed) {
    this(method, fields, opt, compute, accumSteps, initSeed, List.of());
  }

  private Output<?> find(Operand<?> o) {
    Output<?> src = o.asOutput();
    return graph.operationOrThrow(src.op().name()).output(src.index());
  }

  private GraphOperation op(Op o) {
    return (GraphOperation) graph.operationOrThrow(o.op().name());
  }

  /**
   * Assigns device i to every node under {@code tower_<i>/} that has none. Nodes of the one gradient
   * of a method that couples its towers ({@code coupled_gradients/}, named without any trace of the
   * forward op they differentiate) take the device of the first input that has a tower device: the
   * backward of tower i's ops then runs where their forward ran (Python TF's
   * colocate_gradients_with_ops, approximated by data flow).
   */
  static GraphDef place(GraphDef gd, List<String> devices) {
    GraphDef.Builder b = gd.toBuilder();
    Map<String, String> deviceOf = new java.util.HashMap<>();
    for (int n = 0; n < b.getNodeCount(); n++) {
      NodeDef node = b.getNode(n);
      if (node.getDevice().isEmpty()) {
        for (int i = 0; i < devices.size(); i++) {
          if (node.getName().startsWith(towerScope(i) + "/")) {
            node = node.toBuilder().setDevice(devices.get(i)).build();
            b.setNode(n, node);
            break;
          }
        }
      }
      deviceOf.put(node.getName(), node.getDevice());
    }
    java.util.Set<String> towerDevices = new java.util.HashSet<>(devices);
    // Nodes come in creation order, which is topological; a second pass would catch stragglers.
    for (int pass = 0; pass < 2; pass++) {
      boolean changed = false;
      for (int n = 0; n < b.getNodeCount(); n++) {
        NodeDef node = b.getNode(n);
        if (!node.getDevice().isEmpty() || !node.getName().startsWith(COUPLED_GRADIENTS + "/")) {
          continue;
        }
        for (String in : node.getInputList()) {
          if (in.startsWith("^")) {
            continue;
          }
          int colon = in.indexOf(':');
          String d = deviceOf.getOrDefault(colon < 0 ? in : in.substring(0, colon), "");
          if (towerDevices.contains(d)) {
            b.setNode(n, node.toBuilder().setDevice(d));
            deviceOf.put(node.getName(), d);
            changed = true;
            break;
          }
        }
      }
      if (!changed) {
        break;
      }
    }
    return b.build();
  }

  /** Name scope of the single gradient computation of methods that couple their towers. */
  static final String COUPLED_GRADIENTS = "coupled_gradients";

  static String towerScope(int i) {
    return "tower_" + i;
  }

  private Built build(Graph g, TrainingTask method, List<FieldSpec> fields, OptimizerConfig opt, Compute compute) {
    Built b = new Built();
    Ops tf = Ops.create(g);
    Ops in = tf.withSubScope("inputs");
    for (FieldSpec f : fields) {
      b.batch.put(f.name(), placeholder(in, f));
    }
    Placeholder<TFloat32> lrP = in.withName("learning_rate").placeholder(TFloat32.class,
        Placeholder.shape(Shape.scalar()));
    Placeholder<TFloat32> wdP = in.withName("weight_decay").placeholder(TFloat32.class,
        Placeholder.shape(Shape.scalar()));
    Placeholder<TInt64> seedP = in.withName("step_seed").placeholder(TInt64.class, Placeholder.shape(Shape.of(2)));
    b.lr = lrP;
    b.weightDecay = wdP;
    b.seed = seedP;
    Ops train = tf.withSubScope("train");
    Variable<TInt64> stepV = int64Variable(train, "global_step", 0L);
    Operand<TInt64> stepRead = train.withName("global_step_read").identity(stepV);
    b.step = stepV;
    Variable<TInt64> posV = int64Variable(train, "data_position", 0L);
    Placeholder<TInt64> posIn = in.withName("data_position").placeholder(TInt64.class,
        Placeholder.shape(Shape.scalar()));
    b.dataPosition = posV;
    b.dataPositionIn = posIn;
    b.assignDataPosition = train.withName("set_data_position").assign(posV, posIn);

    method.create(tf, params);
    Map<String, Operand<TFloat32>> scalarOps = new LinkedHashMap<>();
    for (String name : method.scalarSchedules(1).keySet()) {
      Placeholder<TFloat32> p = in.withName(name).placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
      b.scalars.put(name, p);
      scalarOps.put(name, p);
    }
    StepInputs stepInputs = new StepInputs(stepRead, seedP, scalarOps, true);

    // fp16: dynamic loss scale and its bookkeeping (variables, so checkpoints carry them).
    boolean fp16 = compute.precision() == Compute.Precision.FP16;
    Variable<TFloat32> lossScale = null;
    Variable<TInt64> goodSteps = null;
    Variable<TInt64> skipped = null;
    if (fp16) {
      lossScale = floatVariable(train, "loss_scale", INITIAL_LOSS_SCALE);
      goodSteps = int64Variable(train, "good_steps", 0L);
      skipped = int64Variable(train, "skipped_steps", 0L);
    }

    // Towers: split every batch field in `towers` along the first axis.
    Map<String, List<Operand<? extends TType>>> slices = new LinkedHashMap<>();
    for (var e : b.batch.entrySet()) {
      @SuppressWarnings("unchecked")
      Operand<TType> full = (Operand<TType>) e.getValue();
      List<Operand<? extends TType>> parts = new ArrayList<>();
      if (towers == 1) {
        parts.add(full);
      } else {
        var split = in.withName(e.getKey() + "_split").split(in.constant(0), full, (long) towers);
        for (Operand<TType> o : split.output()) {
          parts.add(o);
        }
      }
      slices.put(e.getKey(), parts);
    }
    List<Param> trainable = params.trainable();
    List<Operand<?>> xs = new ArrayList<>();
    for (Param p : trainable) {
      xs.add(p.read());
    }
    // Once-per-step ops shared by all towers, outside the tower scopes (MOCA: EMA teacher update
    // and the reads that wait for it, codebook weight generators).
    method.beforeTowers(tf, compute, stepInputs);
    List<TowerOutput> outs = new ArrayList<>();
    List<List<Operand<TFloat32>>> towerGrads = new ArrayList<>();
    Operand<TFloat32> scaleRead = fp16 ? train.withName("loss_scale_read").identity(lossScale) : null;
    boolean coupled = method.couplesTowers();
    List<Ops> towerOps = new ArrayList<>();
    for (int i = 0; i < towers; i++) {
      // Devices are assigned to everything under tower_<i>/ afterwards (see place()).
      Ops t = devices.isEmpty() ? tf : tf.withSubScope(towerScope(i));
      towerOps.add(t);
      Map<String, Operand<? extends TType>> fieldOps = new LinkedHashMap<>();
      for (var e : slices.entrySet()) {
        fieldOps.put(e.getKey(), e.getValue().get(i));
      }
      TowerInputs towerInputs = new TowerInputs(fieldOps, stepInputs, i);
      TowerOutput o = method.tower(t, compute, towerInputs);
      outs.add(o);
      if (i == 0) {
        b.warmStart = method.warmStart(t.withSubScope("warm_start"), compute, towerInputs);
      }
      if (coupled) {
        continue; // differentiated once, after joinTowers (below)
      }
      Operand<TFloat32> objective = fp16 ? t.math.mul(o.loss(), scaleRead) : o.loss();
      var grads = t.withSubScope("gradients").gradients(objective, xs);
      List<Operand<TFloat32>> gl = new ArrayList<>();
      for (int k = 0; k < trainable.size(); k++) {
        gl.add(asFloat(grads.dy(k)));
      }
      towerGrads.add(gl);
    }
    List<Operand<TFloat32>> gradList = new ArrayList<>();
    if (coupled) {
      // The towers' losses depend on each other (e.g. BatchNorm over the global batch): finish them
      // together, then take ONE gradient of their mean, so the cross-tower terms are exact. place()
      // puts each of these gradient ops on the device of the tower ops it reads.
      outs = method.joinTowers(tf.withSubScope("join"), towerOps, compute, stepInputs, outs);
      checkArgument(outs.size() == towers, "joinTowers returned %s outputs for %s towers", outs.size(), towers);
      for (TowerOutput o : outs) {
        checkArgument(o.loss() != null, "joinTowers must give every tower a loss");
      }
      Operand<TFloat32> total = mean(tf, outs.stream().map(TowerOutput::loss).toList());
      Operand<TFloat32> objective = fp16 ? tf.math.mul(total, scaleRead) : total;
      var grads = tf.withSubScope(COUPLED_GRADIENTS).gradients(objective, xs);
      for (int k = 0; k < trainable.size(); k++) {
        Operand<TFloat32> g0 = asFloat(grads.dy(k));
        gradList.add(fp16 ? tf.math.div(g0, scaleRead) : g0);
      }
    }
    // Average over towers (on the variables' device); unscale fp16 gradients.
    Ops avg = tf.withSubScope("tower_average");
    for (int k = 0; k < (coupled ? 0 : trainable.size()); k++) {
      Operand<TFloat32> g0;
      if (towers == 1) {
        g0 = towerGrads.get(0).get(k);
      } else {
        List<Operand<TFloat32>> parts = new ArrayList<>();
        for (List<Operand<TFloat32>> gl : towerGrads) {
          parts.add(gl.get(k));
        }
        g0 = avg.math.div(avg.math.addN(parts), avg.constant((float) towers));
      }
      if (fp16) {
        g0 = avg.math.div(g0, scaleRead);
      }
      gradList.add(g0);
    }
    b.loss = tf.withName("loss").identity(mean(tf, outs.stream().map(TowerOutput::loss).toList()));
    for (String k : outs.get(0).lossTerms().keySet()) {
      b.lossTerms.put(k, mean(tf, outs.stream().map(o -> o.lossTerms().get(k)).toList()));
    }
    for (String k : outs.get(0).metrics().keySet()) {
      b.metrics.put(k, mean(tf, outs.stream().map(o -> o.metrics().get(k)).toList()));
    }
    // identity: an image may be a fed placeholder, which TF refuses to fetch as well
    outs.get(0).images().forEach((k, v) -> b.images.put(k, tf.withName("image_" + k).identity(v)));

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
        Ops init = acc.withInitScope();
        init.withName(flat + ".sum_init").assign(a, init.fill(init.constant(p.shape().asArray()), init.constant(0f)));
        accs.add(a);
        adds.add(acc.withName(flat + ".add").assignAdd(a,
            tf.math.div(gradList.get(i), tf.constant((float) accumSteps))));
      }
      b.accumulateTarget = acc.withControlDependencies(adds).withName("accumulate").noOp();
      Ops after = tf.withControlDependencies(List.of(b.accumulateTarget));
      effective = new ArrayList<>();
      for (Variable<TFloat32> a : accs) {
        effective.add(after.identity(a));
      }
    } else {
      effective = gradList;
    }

    // Global-norm clipping (torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) if < 1).
    Ops clipOps = tf.withSubScope("clip");
    Operand<TFloat32> norm = clipOps.withName("grad_norm").identity(globalNorm(clipOps, effective));
    b.gradNorm = norm;
    Operand<TBool> finite = null;
    if (fp16) {
      // A non-finite gradient makes the global norm non-finite.
      finite = clipOps.withName("grads_finite").math.isFinite(norm);
      effective = zeroNonFinite(clipOps, effective, finite);
    }
    if (opt.getClipGradNorm() > 0) {
      Operand<TFloat32> safeNorm = finite == null ? norm : clipOps.select(finite, norm, clipOps.constant(0f));
      Operand<TFloat32> scale = clipOps.math.minimum(tf.constant(1f),
          clipOps.math.div(tf.constant(opt.getClipGradNorm()), clipOps.math.add(safeNorm, tf.constant(1e-6f))));
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
    b.paramNorm = tf.withName("param_norm").identity(globalNorm(tf.withSubScope("param_norm"), reads));

    List<AdamW.Target> targets = new ArrayList<>();
    int maxLayer = maxLayer(trainable);
    for (int i = 0; i < trainable.size(); i++) {
      Param p = trainable.get(i);
      float scale = opt.getLayerDecay() < 1f ? (float) Math.pow(opt.getLayerDecay(), maxLayer - p.layerId()) : 1f;
      ParamStore.FixedHyper fixed = params.fixedHyper(p);
      targets.add(fixed == null ? new AdamW.Target(p, effective.get(i), scale, p.decays())
          : new AdamW.Target(p, effective.get(i), scale, p.decays(), tf.constant(fixed.learningRate()),
              tf.constant(fixed.weightDecay())));
    }
    AdamW.Built adam = AdamW.build(tf, new AdamW.Hyper(opt.getBeta1(), opt.getBeta2(), opt.getEpsilon()), targets,
        stepRead, lrP, wdP, finite);
    List<Op> afterDeps = new ArrayList<>();
    afterDeps.add(adam.update());
    Ops reset = tf.withControlDependencies(List.of(adam.update()));
    for (Variable<TFloat32> a : accs) {
      afterDeps.add(reset.assign(a, reset.zerosLike(a)));
    }
    if (fp16) {
      afterDeps.addAll(lossScaleUpdate(reset, finite, lossScale, goodSteps, skipped));
      b.metrics.put("loss_scale", scaleRead);
      b.metrics.put("skipped_steps", tf.dtypes.cast(train.withName("skipped_read").identity(skipped),
          TFloat32.class));
    }
    Ops afterUpdate = tf.withControlDependencies(afterDeps);
    List<Op> post = new ArrayList<>(method.afterUpdate(afterUpdate, stepInputs, outs));
    post.add(afterUpdate.withName("increment_step").assignAdd(stepV, tf.constant(1L)));
    b.applyTarget = tf.withControlDependencies(post).withName("train_step").noOp();
    return b;
  }

  /** Scale ×½ and one more skipped step on overflow; ×2 after GROWTH_INTERVAL good steps. */
  private static List<Op> lossScaleUpdate(Ops tf, Operand<TBool> finite, Variable<TFloat32> scale,
      Variable<TInt64> good, Variable<TInt64> skipped) {
    Operand<TFloat32> s = tf.identity(scale);
    Operand<TInt64> g = tf.identity(good);
    Operand<TInt64> goodNext = tf.select(finite, tf.math.add(g, tf.constant(1L)), tf.constant(0L));
    Operand<TBool> grow = tf.math.greaterEqual(goodNext, tf.constant((long) GROWTH_INTERVAL));
    Operand<TFloat32> sNext = tf.select(finite, tf.select(grow, tf.math.mul(s, tf.constant(2f)), s),
        tf.math.mul(s, tf.constant(0.5f)));
    Ops w = tf.withControlDependencies(List.of(sNext, goodNext));
    return List.of(
        w.assign(scale, sNext),
        w.assign(good, w.select(grow, w.constant(0L), goodNext)),
        w.assign(skipped, w.math.add(w.identity(skipped), w.select(finite, w.constant(0L), w.constant(1L)))));
  }

  private static List<Operand<TFloat32>> zeroNonFinite(Ops tf, List<Operand<TFloat32>> gs, Operand<TBool> finite) {
    List<Operand<TFloat32>> out = new ArrayList<>();
    for (Operand<TFloat32> g : gs) {
      out.add(tf.select(finite, g, tf.zerosLike(g)));
    }
    return out;
  }

  private static Operand<TFloat32> mean(Ops tf, List<Operand<TFloat32>> xs) {
    return xs.size() == 1 ? xs.get(0) : tf.math.div(tf.math.addN(xs), tf.constant((float) xs.size()));
  }

  private static Variable<TInt64> int64Variable(Ops tf, String name, long init) {
    Variable<TInt64> v = tf.withName(name).variable(Shape.scalar(), TInt64.class);
    tf.withInitScope().withName(name + "_init").assign(v, tf.withInitScope().constant(init));
    return v;
  }

  private static Variable<TFloat32> floatVariable(Ops tf, String name, float init) {
    Variable<TFloat32> v = tf.withName(name).variable(Shape.scalar(), TFloat32.class);
    tf.withInitScope().withName(name + "_init").assign(v, tf.withInitScope().constant(init));
    return v;
  }

  public Graph graph() {
    return graph;
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
    checkArgument(b.size() % towers == 0, "batch of %s does not split over %s devices (training.batch_size must be "
        + "a multiple of the device count)", b.size(), towers);
    List<Tensor> inputs = new ArrayList<>();
    try {
      Session.Runner r = feed(s, b, step, lr, wd, scalarValues, seedBase, inputs);
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
      java.nio.file.Path logTo = placementFile;
      if (logTo != null) {
        placementFile = null;
        r.setOptions(org.tensorflow.proto.RunOptions.newBuilder().setOutputPartitionGraphs(true).build());
      }
      try (Result res = logTo != null ? r.runAndFetchMetadata() : r.run()) {
        if (logTo != null) {
          writePlacement(res.getMetadata().orElseThrow(), logTo);
        }
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

  /**
   * A runner with everything a step needs fed ({@code b}, learning rate, weight decay, the step's seed,
   * the method's scalars), for tools and tests that fetch more than {@link #step} does or run only
   * part of the graph; add {@link #trainTarget} to run the step itself. The fed tensors are added to
   * {@code owned}: close them after the run.
   */
  public Session.Runner feed(Session s, Batch b, long step, double lr, double wd, Map<String, Double> scalarValues,
      long seedBase, List<Tensor> owned) {
    Session.Runner r = s.runner();
    for (var e : batch.entrySet()) {
      Tensor tt = b.toTensor(e.getKey());
      owned.add(tt);
      r.feed(e.getValue(), tt);
    }
    TFloat32 lrT = TFloat32.scalarOf((float) lr);
    owned.add(lrT);
    TFloat32 wdT = TFloat32.scalarOf((float) wd);
    owned.add(wdT);
    TInt64 seedT = TInt64.tensorOf(Shape.of(2), DataBuffers.of(new long[] {seedBase, step}, true, false));
    owned.add(seedT);
    r.feed(this.lr, lrT).feed(weightDecay, wdT).feed(seed, seedT);
    for (var e : scalars.entrySet()) {
      Double v = scalarValues.get(e.getKey());
      checkArgument(v != null, "no value for the scheduled scalar '%s'", e.getKey());
      TFloat32 t = TFloat32.scalarOf(v.floatValue());
      owned.add(t);
      r.feed(e.getValue(), t);
    }
    return r;
  }

  /** The op that runs one step: the update ({@code apply}) or only the gradient accumulation. */
  public GraphOperation trainTarget(boolean apply) {
    return apply ? applyTarget : accumulateTarget;
  }

  /**
   * Makes the next {@link #step} record where every op ran (TF's partition graphs) and write it to
   * {@code file}: a per-device op count, then one line per op.
   */
  public void capturePlacement(java.nio.file.Path file) {
    this.placementFile = file;
  }

  private static void writePlacement(org.tensorflow.proto.RunMetadata md, java.nio.file.Path file) {
    Map<String, Integer> counts = new java.util.TreeMap<>();
    List<String> lines = new ArrayList<>();
    for (GraphDef part : md.getPartitionGraphsList()) {
      for (NodeDef n : part.getNodeList()) {
        if (n.getOp().equals("_Send") || n.getOp().equals("_Recv")) {
          continue;
        }
        counts.merge(n.getDevice(), 1, Integer::sum);
        lines.add(n.getDevice() + "\t" + n.getOp() + "\t" + n.getName());
      }
    }
    StringBuilder sb = new StringBuilder();
    counts.forEach((d, c) -> sb.append(c).append(" ops on ").append(d).append('\n'));
    sb.append('\n');
    java.util.Collections.sort(lines);
    lines.forEach(l -> sb.append(l).append('\n'));
    try {
      java.nio.file.Files.writeString(file, sb.toString());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
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

  /** Reads the step counter and data position (after a restore). */
  long[] stepAndPosition(Session s) {
    try (Result r = s.runner().fetch(step).fetch(dataPosition).run()) {
      return new long[] {((TInt64) r.get(0)).getLong(), ((TInt64) r.get(1)).getLong()};
    }
  }

  /** Records the data position in its variable (before a checkpoint). */
  void setDataPosition(Session s, long position) {
    try (TInt64 pos = TInt64.scalarOf(position)) {
      s.runner().feed(dataPositionIn, pos).addTarget(assignDataPosition).run();
    }
  }

  public ParamStore params() {
    return params;
  }

  public int towers() {
    return towers;
  }

  @Override
  public void close() {
    graph.close();
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
