package org.mimtf.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.mimtf.config.proto.TrainingConfig;
import org.mimtf.nn.Compute;
import org.mimtf.train.SessionConfigs;
import org.mimtf.train.StepGraph;
import org.mimtf.util.Json;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.Tensor;
import org.tensorflow.proto.DeviceStepStats;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunMetadata;
import org.tensorflow.proto.RunOptions;

/**
 * {@code bench step CONFIG --profile}: where the training step's time goes. Runs the step of {@link
 * StepBench} with {@code RunOptions.trace_level = FULL_TRACE} and sums TF's per-node times from {@code
 * RunMetadata.step_stats} by executed op type (after grappler and oneDNN rewrote the graph, so fused
 * kernels show as such) and by model part, forward and backward apart (the gradient ops live under a
 * {@code gradients} scope). Op time is the sum over nodes of their kernel time; with two threads it
 * can exceed the wall time of the step, and the difference between the two shows how well the
 * threads are used. Host feeding (the batch's tensors built from Java arrays) is timed separately.
 */
public final class StepProfile {
  private static final Pattern LABEL = Pattern.compile("^[^=]*= ([A-Za-z0-9_]+)\\(");

  private StepProfile() {}

  /** One node's time in one traced step. */
  record NodeTime(String name, String type, double micros) {}

  /** Runs {@code warmup} untraced steps, then {@code traced} traced ones; prints the tables, returns JSON. */
  public static Json.Obj run(StepBench.Config c, boolean peerModel, int warmup, int traced,
      TrainingConfig training, Compute.Precision precision, String rewriter, PrintStream out) {
    StepBench.Setup setup = StepBench.setup(c, peerModel);
    List<String> devices = org.mimtf.train.Devices.towers(training.getDevices());
    try (StepGraph sg = new StepGraph(setup.model(), setup.model().fields(), StepBench.optimizer(),
        StepBench.trainingCompute(training, precision, devices), 1, 0, devices);
        Session s = new Session(sg.graph(),
            SessionConfigs.withRewriter(SessionConfigs.training(training, devices), rewriter))) {
      s.initialize();
      for (int i = 0; i < warmup; i++) {
        sg.step(s, setup.batch(), i, 1e-3, 0.05, Map.of(), 0, true, null, false);
      }
      Map<String, Double> byType = new TreeMap<>();
      Map<String, Double> byPart = new TreeMap<>();
      Map<String, Double> byNode = new TreeMap<>();
      Map<String, String> nodeType = new TreeMap<>();
      var vit = setup.model().encoder().config();
      Classifier classes = new Classifier(sg.graph(), sg.params(), vit.width(), vit.numPatches() + 1);
      double feedMs = 0;
      double wallMs = 0;
      for (int i = 0; i < traced; i++) {
        Traced t = traceStep(sg, s, setup.batch(), warmup + i, 1e-3, Map.of());
        feedMs += t.feedMs();
        wallMs += t.wallMs();
        for (NodeTime n : t.nodes()) {
          byType.merge(n.type(), n.micros(), Double::sum);
          byPart.merge(classes.part(n.name(), n.type()), n.micros(), Double::sum);
          byNode.merge(n.name(), n.micros(), Double::sum);
          nodeType.put(n.name(), n.type());
        }
      }
      double total = byType.values().stream().mapToDouble(Double::doubleValue).sum() / traced / 1000;
      out.printf("%s %s: %d traced steps, wall %.1f ms/step (traced; tracing adds overhead), op time %.1f ms/step "
          + "(summed over threads), host feeding %.2f ms/step%n", c.name(), precision.name().toLowerCase(), traced,
          wallMs / traced, total, feedMs / traced);
      Json.Obj parts = table(out, "model part", byPart, traced, total, 0);
      Json.Obj types = table(out, "executed op type", byType, traced, total, 25);
      out.println("\nslowest nodes (ms/step):");
      byNode.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(15)
          .forEach(e -> out.printf("  %7.2f  %-22s %s%n", e.getValue() / traced / 1000, nodeType.get(e.getKey()),
              e.getKey()));
      return Json.obj().put("bench", "step-profile").put("config", c.name())
          .put("precision", precision.name().toLowerCase()).put("model", peerModel ? "peer" : "beit")
          .put("traced_steps", traced)
          .put("wall_ms_per_step", wallMs / traced).put("op_ms_per_step", total).put("feed_ms_per_step", feedMs / traced)
          .put("parts_ms", parts).put("op_types_ms", types);
    }
  }

  static Json.Obj table(PrintStream out, String title, Map<String, Double> micros, int traced, double total,
      int limit) {
    out.printf("%n%-44s %9s %7s%n", "by " + title, "ms/step", "share");
    Json.Obj j = Json.obj();
    List<Map.Entry<String, Double>> rows = new ArrayList<>(micros.entrySet());
    rows.sort(Map.Entry.<String, Double>comparingByValue(Comparator.reverseOrder()));
    double rest = 0;
    int shown = 0;
    for (var e : rows) {
      double ms = e.getValue() / traced / 1000;
      j.put(e.getKey(), ms);
      if (limit > 0 && shown >= limit) {
        rest += ms;
        continue;
      }
      shown++;
      out.printf("  %-42s %9.2f %6.1f%%%n", e.getKey(), ms, 100 * ms / total);
    }
    if (rest > 0) {
      out.printf("  %-42s %9.2f %6.1f%%%n", "(other types)", rest, 100 * rest / total);
    }
    return j;
  }

  /** One traced step: its executed nodes, the host time to build the feeds and the whole step's wall time. */
  record Traced(List<NodeTime> nodes, double feedMs, double wallMs) {}

  /** Runs one training step of {@code sg} with {@code FULL_TRACE} step stats and returns its nodes. */
  static Traced traceStep(StepGraph sg, Session s, org.mimtf.data.pipeline.Batch b, long step, double lr,
      Map<String, Double> scalarValues) {
    RunOptions opts = RunOptions.newBuilder().setTraceLevel(RunOptions.TraceLevel.FULL_TRACE).build();
    List<Tensor> owned = new ArrayList<>();
    try {
      long t0 = System.nanoTime();
      Session.Runner r = sg.feed(s, b, step, lr, 0.05, scalarValues, 0, owned);
      long t1 = System.nanoTime();
      r.addTarget(sg.trainTarget(true)).setOptions(opts);
      RunMetadata md;
      try (Result res = r.runAndFetchMetadata()) {
        md = res.getMetadata().orElseThrow();
      }
      return new Traced(nodes(md), (t1 - t0) / 1e6, (System.nanoTime() - t0) / 1e6);
    } finally {
      owned.forEach(Tensor::close);
    }
  }

  /** Every executed node of one step with its kernel time (µs) and executed op type. */
  static List<NodeTime> nodes(RunMetadata md) {
    List<NodeTime> out = new ArrayList<>();
    for (DeviceStepStats d : md.getStepStats().getDevStatsList()) {
      // Some runtimes record each node twice (a device's stream and its "/host" view); count the
      // compute devices only.
      if (d.getDevice().contains("stream") || d.getDevice().contains("memcpy")) {
        continue;
      }
      for (NodeExecStats n : d.getNodeStatsList()) {
        long micros = n.getOpEndRelMicros() - n.getOpStartRelMicros();
        if (micros <= 0) {
          micros = n.getAllEndRelMicros();
        }
        out.add(new NodeTime(n.getNodeName(), opType(n), micros));
      }
    }
    return out;
  }

  /** The executed op type, from the timeline label {@code "name = Type(inputs)"}. */
  static String opType(NodeExecStats n) {
    Matcher m = LABEL.matcher(n.getTimelineLabel());
    return m.find() ? m.group(1) : "?";
  }

  private static final java.util.Set<String> LAYOUT = java.util.Set.of("Transpose", "_MklTranspose", "Reshape",
      "_MklReshape", "GatherV2", "GatherNd", "ConcatV2", "_MklConcatV2", "Slice", "StridedSlice", "StridedSliceGrad",
      "Pack", "Unpack", "ScatterNd", "Tile", "BroadcastTo", "Where", "Split", "SplitV", "ExpandDims", "Squeeze",
      "Shape", "ShapeN", "Fill", "ZerosLike", "OnesLike", "BroadcastGradientArgs", "UnsortedSegmentSum", "SelectV2",
      "Select", "Cast", "DynamicStitch", "ConcatOffset", "Size", "OneHot");

  private static final java.util.Set<String> RUNTIME = java.util.Set.of("_Arg", "_Retval", "NoOp", "Const",
      "VarHandleOp", "VariableV2", "ReadVariableOp", "_Recv", "_Send", "Identity", "_HostRecv", "_HostSend",
      "Snapshot");

  /**
   * Names the model part of an executed node. The layers build their forward ops without name scopes
   * and TF's gradient ops are named {@code gradients/Gradients/<Type>_<k>}, so the part is read from
   * the graph: a matrix product is attributed to the layer whose kernel has its two feature dimensions
   * (a dense layer's forward product and both gradient products all have the kernel's [in, out] among
   * their [M, K, N]), an element-wise op by the width of its output (4·D: MLP hidden, so GELU; T×T:
   * attention scores; D: LayerNorm and residuals).
   */
  static final class Classifier {
    private final org.tensorflow.Graph graph;
    private final Map<List<Long>, String> kernels = new java.util.HashMap<>();
    private final long width;
    private final long tokens;

    Classifier(org.tensorflow.Graph graph, org.mimtf.nn.ParamStore params, long width, long tokens) {
      this.graph = graph;
      this.width = width;
      this.tokens = tokens;
      for (org.mimtf.nn.Param p : params.all()) {
        if (p.kind() != org.mimtf.nn.Param.Kind.KERNEL || p.shape().numDimensions() != 2) {
          continue;
        }
        String n = p.name();
        String label = n.contains("/qkv/") ? "qkv matmul" : n.contains("/attn/proj/") ? "attn out-proj matmul"
            : n.contains("/mlp/") ? "MLP matmuls (fc1, fc2)" : n.contains("patch_embed") ? "patch-embed matmul"
            : n.startsWith("heads/") ? "head matmul" : "other matmuls";
        List<Long> key = List.of(Math.min(p.shape().get(0), p.shape().get(1)),
            Math.max(p.shape().get(0), p.shape().get(1)));
        kernels.merge(key, label, (a, b) -> a.equals(b) ? a : a + " / " + b);
      }
    }

    /** The model part of node {@code name} executed as {@code type}, forward or backward. */
    String part(String name, String type) {
      boolean backward = name.startsWith("gradients/") || name.contains("/gradients/");
      String dir = backward ? "bwd " : "fwd ";
      if (name.startsWith("optimizer/") || type.startsWith("ResourceApply") || type.startsWith("ApplyAdam")) {
        return "optimizer (AdamW)";
      }
      if (name.startsWith("accumulators/")) {
        return "gradient accumulation";
      }
      if (name.startsWith("clip/") || name.startsWith("param_norm") || name.startsWith("tower_average/")
          || type.equals("L2Loss")) {
        return "grad norm, clipping, param norm";
      }
      if (RUNTIME.contains(type)) {
        return "runtime (args, reads, no-ops)";
      }
      org.tensorflow.GraphOperation op = graph.operation(name);
      if (type.contains("BatchMatMul") || type.equals("Einsum")) {
        return dir + "attention products (q·kᵀ, p·v)";
      }
      if (type.contains("MatMul")) {
        // A fused MatMul+BiasAdd(+activation) carries the name of its last op: find the product.
        org.tensorflow.GraphOperation mm = op;
        while (mm != null && !mm.type().contains("MatMul") && mm.numInputs() > 0) {
          mm = (org.tensorflow.GraphOperation) mm.input(0).op();
        }
        return dir + (mm == null ? "other matmuls" : matmulPart(mm));
      }
      if (type.contains("CrossEntropy")) {
        return dir + "head cross-entropy";
      }
      if (type.contains("Softmax")) {
        return dir + "attention softmax";
      }
      if (LAYOUT.contains(type) || type.equals("_MklTranspose")) {
        return dir + "layout (transpose, reshape, gather, concat, cast)";
      }
      if (type.startsWith("BiasAdd")) {
        return dir + "bias adds and their gradients";
      }
      if (type.equals("Erf") || type.equals("Erfc")) {
        return dir + "GELU";
      }
      long[] shape = op == null || op.numOutputs() == 0 ? new long[0] : op.output(0).shape().asArray();
      if (shape == null) {
        shape = new long[0];
      }
      long last = shape.length == 0 ? -1 : shape[shape.length - 1];
      if (last == 4 * width) {
        return dir + "GELU (and other 4·D-wide element-wise)";
      }
      if (shape.length >= 2 && last == tokens && shape[shape.length - 2] == tokens) {
        return dir + "attention scores element-wise (scale, bias)";
      }
      if (last == width || last == 1 && shape.length >= 2) {
        return dir + "LayerNorm, residuals, drop-path (D-wide element-wise)";
      }
      return dir + "other element-wise";
    }

    private String matmulPart(org.tensorflow.GraphOperation mm) {
      long[] a = mm.output(0).shape().asArray();
      long[] x = mm.input(0).shape().asArray();
      long[] y = mm.input(1).shape().asArray();
      List<Long> dims = new ArrayList<>();
      for (long[] s : new long[][] {a, x, y}) {
        if (s != null) {
          for (long d : s) {
            dims.add(d);
          }
        }
      }
      // [M, K]·[K, N] lists each of its dimensions twice; a kernel matches when both of its
      // dimensions occur. Where several match (a [D, D] kernel inside a [D, 4D] product), the largest wins.
      String found = "other matmuls";
      long best = 0;
      for (var e : kernels.entrySet()) {
        long p = e.getKey().get(0);
        long q = e.getKey().get(1);
        List<Long> rest = new ArrayList<>(dims);
        if (rest.remove(p) && rest.remove(q) && p * q > best) {
          found = e.getValue();
          best = p * q;
        }
      }
      return found;
    }
  }
}
