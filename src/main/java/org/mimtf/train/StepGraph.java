package org.mimtf.train;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.api.TrainingTask;
import org.mimtf.config.proto.OptimizerConfig;
import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;
import org.mimtf.nn.Compute;
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
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * The training step of one run, ready to run: the graph a session runs and the handles to feed and
 * fetch. It composes the step's three jobs: {@link StepBuilder} builds the step (towers, gradients,
 * loss scaling, accumulation, clipping, AdamW, after-update ops), {@link DevicePlacement} places it on
 * devices, and this class runs it ({@link #step}: feeds a batch and the step's values, fetches loss,
 * terms, metrics and norms).
 *
 * <p><b>Towers.</b> With N devices the fed batch is split in N along its first axis; tower i builds
 * the task's forward pass and its gradients on device i; the gradients are averaged (AddN / N on
 * the variables' device) and one update follows. Variables exist once. One tower with TF's default
 * placement is built straight into the graph the session runs; several towers are built in a scratch
 * graph, placed, and imported. Either way the handles are then looked up by name in the run graph.
 *
 * <p><b>Coupled towers.</b> When a task's losses depend on other towers' examples (BatchNorm over
 * the global batch, {@link TrainingTask#couplesTowers}), averaging per-tower gradients would drop the
 * cross-tower terms. Then every tower's forward pass is built first, the task joins them
 * ({@link TrainingTask#joinTowers}), and one gradient of the towers' mean loss is taken under
 * {@code coupled_gradients/}; {@link DevicePlacement#place} puts each of its ops on the device of the
 * tower ops it reads.
 *
 * <p>Run targets: {@link #applyTarget} (one optimizer step on the fed batch; with accumulation the last
 * micro-batch plus the update) and {@link #accumulateTarget} (add a micro-batch's gradients).
 */
public final class StepGraph implements AutoCloseable {
  /** Initial fp16 loss scale (see {@link StepBuilder}). */
  static final float INITIAL_LOSS_SCALE = StepBuilder.INITIAL_LOSS_SCALE;

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
      StepBuilder.Built b = new StepBuilder(params, this.devices, accumSteps).build(target, method, fields, opt,
          compute);
      if (single) {
        graph = target;
      } else {
        graph = new Graph();
        graph.importGraphDef(DevicePlacement.place(scratch.toGraphDef(), this.devices));
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
    return step(s, b, step, lr, wd, scalarValues, seedBase, apply, images, true);
  }

  /**
   * As above; {@code norms} false leaves out {@code grad_norm} and {@code param_norm} (a pass over
   * every gradient and every parameter each, unless clipping needs the first): the trainer fetches
   * them on the steps it logs.
   */
  public Map<String, Double> step(Session s, Batch b, long step, double lr, double wd, Map<String, Double> scalarValues,
      long seedBase, boolean apply, ImageSink images, boolean norms) {
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
      if (norms) {
        names.add("grad_norm");
        r.fetch(gradNorm);
        names.add("param_norm");
        r.fetch(paramNorm);
      }
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

}
