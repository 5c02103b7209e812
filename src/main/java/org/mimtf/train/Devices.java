package org.mimtf.train;

import java.util.ArrayList;
import java.util.List;
import org.mimtf.util.UserException;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.ConfigProto;

/**
 * The devices a run trains on, from {@code training.devices}: {@code auto} (every GPU TF sees, else one
 * CPU tower), {@code cpu}, a count ({@code 2}: that many GPUs, or that many virtual CPU devices when
 * there is no GPU), or a list ({@code /gpu:0,/gpu:1}). An empty list means one tower with TF's default
 * placement.
 */
public final class Devices {
  private static int gpuCount = -1;

  private Devices() {}

  /**
   * How a training graph on {@code towers} computes: the recipe's precision; mimtf's fused CPU kernels
   * (LayerNorm, residual + LayerNorm, bias + GELU) and oneDNN's batched products, as the recipe asks
   * (all on by default), when the graph runs on CPUs only (they have no GPU kernels); and on CPU the
   * batched (attention) products in fp32 under bf16 ({@link org.mimtf.nn.Compute#withFp32BatchProducts}).
   */
  public static org.mimtf.nn.Compute compute(org.mimtf.config.proto.TrainingConfig t, List<String> towers) {
    org.mimtf.nn.Compute c = new org.mimtf.nn.Compute(org.mimtf.nn.Compute.Precision.valueOf(t.getPrecision().name()));
    // one tower with TF's default placement runs on the GPU when there is one
    boolean cpuOnly = towers.isEmpty() ? t.getDevices().trim().equals("cpu") || gpuCount() == 0
        : towers.stream().allMatch(d -> d.toUpperCase(java.util.Locale.ROOT).contains("CPU"));
    return c.withFusedLayerNorm(t.getFusedLayerNorm() && cpuOnly).withFusedBiasGelu(t.getFusedBiasGelu() && cpuOnly)
        .withFp32BatchProducts(cpuOnly).withOneDnnBatchProducts(t.getOnednnBatchProducts() && cpuOnly);
  }

  /** Tower devices for a {@code training.devices} value. */
  public static List<String> towers(String spec) {
    String s = spec.trim();
    if (s.equals("cpu")) {
      return List.of();
    }
    if (s.equals("auto")) {
      int g = gpuCount();
      return g <= 1 ? List.of() : names("GPU", g);
    }
    if (s.matches("\\d+")) {
      int n = Integer.parseInt(s);
      if (n <= 1) {
        return List.of();
      }
      int g = gpuCount();
      if (g == 0) {
        return names("CPU", n);
      }
      if (n > g) {
        throw new UserException("training.devices asks for " + n + " devices but TensorFlow sees " + g + " GPU(s)");
      }
      return names("GPU", n);
    }
    List<String> out = new ArrayList<>();
    for (String d : s.split(",")) {
      String t = d.trim();
      if (!t.isEmpty()) {
        out.add(normalize(t));
      }
    }
    return out;
  }

  /** "/gpu:1" → "/device:GPU:1"; full names pass unchanged. */
  static String normalize(String d) {
    String t = d.startsWith("/") ? d.substring(1) : d;
    if (t.matches("(?i)(cpu|gpu):\\d+")) {
      String[] p = t.split(":");
      return "/device:" + p[0].toUpperCase() + ":" + p[1];
    }
    return d;
  }

  private static List<String> names(String type, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add("/device:" + type + ":" + i);
    }
    return out;
  }

  /** Number of GPUs TensorFlow sees (0 on the CPU build), probed once by placing ops on them. */
  public static synchronized int gpuCount() {
    if (gpuCount >= 0) {
      return gpuCount;
    }
    int n = 0;
    while (n < 16 && canPlace("/device:GPU:" + n)) {
      n++;
    }
    gpuCount = n;
    return n;
  }

  /** Whether a constant can run on {@code device} without soft placement. */
  public static boolean canPlace(String device) {
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      var c = tf.withName("probe").constant(1f);
      var gd = g.toGraphDef().toBuilder();
      for (int i = 0; i < gd.getNodeCount(); i++) {
        gd.setNode(i, gd.getNode(i).toBuilder().setDevice(device));
      }
      try (Graph placed = new Graph()) {
        placed.importGraphDef(gd.build());
        try (Session s = new Session(placed, ConfigProto.newBuilder().setAllowSoftPlacement(false).build());
            var r = s.runner().fetch("probe").run()) {
          return true;
        }
      }
    } catch (RuntimeException e) {
      return false;
    }
  }
}
