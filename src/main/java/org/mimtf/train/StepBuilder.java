package org.mimtf.train;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.api.StepInputs;
import org.mimtf.api.TowerInputs;
import org.mimtf.api.TowerOutput;
import org.mimtf.api.TrainingTask;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.tensorflow.Graph;
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
 * Builds the training step of one run into a graph: batch placeholders, the task's towers, gradients
 * averaged over towers (or one gradient of coupled towers), mixed-precision loss scaling, gradient
 * accumulation, global-norm clipping, AdamW, the task's after-update ops and the step counter, and
 * the host state checkpoints carry (data position). It knows nothing of devices beyond naming each
 * tower's ops {@code tower_<i>/} ({@link DevicePlacement} places them) and nothing of sessions
 * ({@link StepGraph} runs the step).
 *
 * <p><b>Precision.</b> Matmuls run in {@link Compute}'s type; fp16 adds dynamic loss scaling: the loss
 * is multiplied by a scale before differentiation, gradients are unscaled, and if any is not finite
 * the update is skipped exactly (parameters and slots keep their values), the scale halves and
 * {@code skipped_steps} counts it; after {@value #GROWTH_INTERVAL} good steps the scale doubles.
 */
final class StepBuilder {
  /** Good fp16 steps before the loss scale doubles (torch.cuda.amp.GradScaler's default). */
  static final int GROWTH_INTERVAL = 2000;
  /** Initial fp16 loss scale (2^16, as GradScaler). */
  static final float INITIAL_LOSS_SCALE = 65536f;

  /**
   * The step's handles in the graph it was built in (the scratch graph when it is placed and
   * imported afterwards): what {@link StepGraph} looks up by name in the graph the session runs.
   */
  static final class Built {
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

  private final ParamStore params;
  private final int towers;
  private final List<String> devices;
  private final int accumSteps;

  /**
   * @param params where the task creates its variables
   * @param devices the towers' devices; empty for one tower built without tower scopes
   */
  StepBuilder(ParamStore params, List<String> devices, int accumSteps) {
    this.params = params;
    this.devices = List.copyOf(devices);
    this.towers = Math.max(1, devices.size());
    this.accumSteps = accumSteps;
  }

  Built build(Graph g, TrainingTask method, List<FieldSpec> fields, OptimizerConfig opt, Compute compute) {
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
      // Devices are assigned to everything under tower_<i>/ afterwards (see DevicePlacement).
      Ops t = devices.isEmpty() ? tf : tf.withSubScope(DevicePlacement.towerScope(i));
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
      // together, then take ONE gradient of their mean, so the cross-tower terms are exact. DevicePlacement
      // puts each of these gradient ops on the device of the tower ops it reads.
      outs = method.joinTowers(tf.withSubScope("join"), towerOps, compute, stepInputs, outs);
      checkArgument(outs.size() == towers, "joinTowers returned %s outputs for %s towers", outs.size(), towers);
      for (TowerOutput o : outs) {
        checkArgument(o.loss() != null, "joinTowers must give every tower a loss");
      }
      Operand<TFloat32> total = mean(tf, outs.stream().map(TowerOutput::loss).toList());
      Operand<TFloat32> objective = fp16 ? tf.math.mul(total, scaleRead) : total;
      var grads = tf.withSubScope(DevicePlacement.COUPLED_GRADIENTS).gradients(objective, xs);
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
