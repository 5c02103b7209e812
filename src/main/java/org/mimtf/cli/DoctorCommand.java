package org.mimtf.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.train.DeviceList;
import org.mimtf.train.NativeBuild;
import org.mimtf.util.Json;
import org.tensorflow.TensorFlow;
import org.tensorflow.proto.ConfigProto;
import picocli.CommandLine.Command;

/** {@code mimtf doctor}: what TensorFlow build and devices this machine gives mimtf, and what is missing. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
    description = "TensorFlow version and build (CPU/GPU), the devices TF sees, XLA, and what is missing for GPUs.")
final class DoctorCommand implements Runnable {
  @Override
  public void run() {
    boolean gpuBuild = NativeBuild.isGpuBuild();
    System.out.println("TensorFlow " + TensorFlow.version() + " (TF Java 1.0), native build: "
        + (gpuBuild ? "GPU (CUDA 12.3, cuDNN 8.9)" : "CPU"));
    System.out.println("Java " + System.getProperty("java.version") + ", " + System.getProperty("os.name") + " "
        + System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores");
    List<DeviceList.Device> devices = DeviceList.list(ConfigProto.getDefaultInstance());
    List<Object> devJson = new ArrayList<>();
    int gpus = 0;
    for (DeviceList.Device d : devices) {
      System.out.printf("  device %-45s %-4s %,d MB%n", d.name(), d.type(), d.memoryBytes() >> 20);
      gpus += d.type().equals("GPU") ? 1 : 0;
      devJson.add(Json.obj().put("name", d.name()).put("type", d.type()).put("memory_bytes", d.memoryBytes()).asMap());
    }
    List<String> smi = nvidiaSmi();
    for (String line : smi) {
      System.out.println("  nvidia-smi: " + line);
    }
    List<String> problems = new ArrayList<>();
    List<String> missing = gpuBuild ? NativeBuild.missingCudaLibraries() : List.of();
    if (gpuBuild) {
      if (!missing.isEmpty()) {
        problems.add("CUDA libraries not found: " + String.join(", ", missing) + ". " + NativeBuild.cudaAdvice());
      }
      if (gpus == 0) {
        problems.add("the GPU build sees no GPU" + (smi.isEmpty() ? " and nvidia-smi is not available (no driver?)"
            : "") + ": TensorFlow would run on the CPU; 'pretrain' stops unless training.devices is \"cpu\"");
      }
    }
    String xlaCpu = System.getenv().getOrDefault("TF_XLA_FLAGS", "");
    boolean ptxas = onPath("ptxas");
    System.out.println("XLA JIT: CPU " + (xlaCpu.contains("tf_xla_cpu_global_jit") ? "enabled by TF_XLA_FLAGS"
        : "needs TF_XLA_FLAGS=--tf_xla_cpu_global_jit (measured slower here; off by default)")
        + "; GPU " + (ptxas ? "ptxas found" : "needs ptxas and libdevice from a CUDA toolkit "
        + "(XLA_FLAGS=--xla_gpu_cuda_data_dir=...), so training.xla stays off on GPUs"));
    String onednn = System.getenv().getOrDefault("TF_ENABLE_ONEDNN_OPTS", "(default)");
    System.out.println("oneDNN: TF_ENABLE_ONEDNN_OPTS=" + onednn);
    if (problems.isEmpty()) {
      System.out.println("no problems found");
    } else {
      problems.forEach(p -> System.out.println("PROBLEM: " + p));
    }
    System.out.println(Json.obj().put("tensorflow", TensorFlow.version()).put("gpu_build", gpuBuild)
        .put("devices", devJson).put("gpus", gpus).put("missing_cuda_libraries", missing)
        .put("xla_gpu_ptxas", ptxas).put("problems", problems));
  }

  private static boolean onPath(String tool) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String d : path.split(java.io.File.pathSeparator)) {
      if (java.nio.file.Files.isExecutable(java.nio.file.Path.of(d, tool))) {
        return true;
      }
    }
    return false;
  }

  private static List<String> nvidiaSmi() {
    List<String> out = new ArrayList<>();
    if (!onPath("nvidia-smi")) {
      return out;
    }
    try {
      Process p = new ProcessBuilder("nvidia-smi", "--query-gpu=index,name,compute_cap,memory.total,driver_version",
          "--format=csv,noheader").redirectErrorStream(true).start();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          out.add(line.trim());
        }
      }
      p.waitFor();
    } catch (Exception e) {
      out.add("failed: " + e.getMessage());
    }
    return out;
  }
}
