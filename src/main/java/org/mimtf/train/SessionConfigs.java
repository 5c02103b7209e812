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

  /** A small session for inference and tools: TF's default threads. */
  public static ConfigProto inference() {
    return ConfigProto.newBuilder().setAllowSoftPlacement(true).build();
  }
}
