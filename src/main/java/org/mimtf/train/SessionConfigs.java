package org.mimtf.train;

import org.mimtf.config.proto.TrainingConfig;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.proto.GPUOptions;
import org.tensorflow.proto.GraphOptions;
import org.tensorflow.proto.OptimizerOptions;

/** Session settings from the recipe: threads, XLA, GPU memory. */
public final class SessionConfigs {
  private SessionConfigs() {}

  public static ConfigProto training(TrainingConfig t) {
    return training(t, java.util.List.of());
  }

  /**
   * Training settings for towers on {@code devices}; CPU towers beyond the first need virtual CPU
   * devices, which the session config creates ({@code device_count}).
   */
  public static ConfigProto training(TrainingConfig t, java.util.List<String> devices) {
    ConfigProto.Builder b = ConfigProto.newBuilder().setAllowSoftPlacement(true);
    int cpus = (int) devices.stream().filter(d -> d.toUpperCase().contains("CPU")).count();
    if (cpus > 1) {
      b.putDeviceCount("CPU", cpus);
    }
    if (t.getIntraOpThreads() > 0) {
      b.setIntraOpParallelismThreads(t.getIntraOpThreads());
    }
    if (t.getInterOpThreads() > 0) {
      b.setInterOpParallelismThreads(t.getInterOpThreads());
    }
    GPUOptions.Builder gpu = GPUOptions.newBuilder().setAllowGrowth(t.getGpuAllowGrowth());
    if (t.getGpuMemoryFraction() > 0) {
      gpu.setPerProcessGpuMemoryFraction(t.getGpuMemoryFraction());
    }
    b.setGpuOptions(gpu);
    if (t.getXla()) {
      b.setGraphOptions(GraphOptions.newBuilder().setOptimizerOptions(
          OptimizerOptions.newBuilder().setGlobalJitLevel(OptimizerOptions.GlobalJitLevel.ON_1)));
    }
    return b.build();
  }

  /**
   * {@code base} with grappler's {@code RewriterConfig} toggles set from {@code spec}, a
   * comma-separated list of {@code field=on|off|aggressive|default} (field names as in TF's
   * rewriter_config.proto, e.g. {@code remapping=off,auto_mixed_precision_onednn_bfloat16=on}); for
   * measuring graph-optimizer options ({@code bench step --rewriter}).
   */
  public static ConfigProto withRewriter(ConfigProto base, String spec) {
    if (spec == null || spec.isBlank()) {
      return base;
    }
    org.tensorflow.proto.RewriterConfig.Builder rw = base.getGraphOptions().getRewriteOptions().toBuilder();
    com.google.protobuf.Descriptors.Descriptor d = rw.getDescriptorForType();
    for (String item : spec.split(",")) {
      String[] kv = item.trim().split("=", 2);
      com.google.protobuf.Descriptors.FieldDescriptor f = d.findFieldByName(kv[0].trim());
      if (kv.length != 2 || f == null || f.getType() != com.google.protobuf.Descriptors.FieldDescriptor.Type.ENUM
          || !f.getEnumType().getName().equals("Toggle")) {
        throw new org.mimtf.util.UserException("--rewriter '" + item + "': expected FIELD=on|off|aggressive|default "
            + "with FIELD a toggle of TF's RewriterConfig (e.g. remapping, arithmetic_optimization, layout_optimizer, "
            + "auto_mixed_precision_onednn_bfloat16)");
      }
      com.google.protobuf.Descriptors.EnumValueDescriptor v = f.getEnumType().findValueByName(
          kv[1].trim().toUpperCase());
      if (v == null) {
        throw new org.mimtf.util.UserException("--rewriter '" + item + "': value must be on, off, aggressive or default");
      }
      rw.setField(f, v);
    }
    return base.toBuilder().setGraphOptions(base.getGraphOptions().toBuilder().setRewriteOptions(rw)).build();
  }

  /**
   * The session of a frozen model that runs beside training (a teacher, a tokenizer): {@link #inference()},
   * and where the run trains in bf16 on a CPU that multiplies bf16 natively, grappler's oneDNN bf16
   * rewrite of the model's fp32 graph (matmuls and their neighbours in bf16, as
   * {@code training.precision: bf16} does for the student; the rewrite matched the explicit casts'
   * speed on the cpu-m step, README Benchmarks). A bf16 run's targets then come from the same
   * arithmetic as its student; an fp32 run's stay fp32.
   */
  public static ConfigProto frozenModel(TrainingConfig t) {
    return frozenModel(t, CpuFeatures.nativeBf16());
  }

  static ConfigProto frozenModel(TrainingConfig t, boolean cpuHasBf16) {
    if (t.getPrecision() == TrainingConfig.Precision.BF16 && cpuHasBf16) {
      return withRewriter(inference(), "auto_mixed_precision_onednn_bfloat16=on");
    }
    return inference();
  }

  /** A small session for inference and tools: TF's default threads. */
  public static ConfigProto inference() {
    return ConfigProto.newBuilder().setAllowSoftPlacement(true).build();
  }
}
