package org.mimtf.train;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Which TensorFlow native library is on the class path (the CPU or the GPU build) and, for the GPU
 * build, whether the CUDA 12.3 / cuDNN 8.9 libraries it needs are visible to the dynamic loader.
 * Without them TensorFlow silently runs on the CPU; mimtf checks instead.
 */
public final class NativeBuild {
  /** Sonames TF 2.16.2's GPU build loads (NCCL optional). */
  public static final List<String> CUDA_LIBRARIES = List.of("libcudart.so.12", "libcublas.so.12",
      "libcublasLt.so.12", "libcufft.so.11", "libcurand.so.10", "libcusolver.so.11", "libcusparse.so.12",
      "libcudnn.so.8");

  private NativeBuild() {}

  /** True when the GPU native jar ({@code -Pgpu}) is on the class path. */
  public static boolean isGpuBuild() {
    return NativeBuild.class.getClassLoader()
        .getResource("org/tensorflow/internal/c_api/linux-x86_64-gpu/libtensorflow_cc.so.2") != null;
  }

  /** The CUDA libraries not found in LD_LIBRARY_PATH's folders or the usual system folders. */
  public static List<String> missingCudaLibraries() {
    List<Path> dirs = new ArrayList<>();
    String ld = System.getenv("LD_LIBRARY_PATH");
    if (ld != null) {
      for (String d : ld.split(File.pathSeparator)) {
        if (!d.isEmpty()) {
          dirs.add(Path.of(d));
        }
      }
    }
    for (String d : new String[] {"/usr/lib/x86_64-linux-gnu", "/usr/local/cuda/lib64", "/usr/lib64", "/usr/lib"}) {
      dirs.add(Path.of(d));
    }
    List<String> missing = new ArrayList<>();
    for (String lib : CUDA_LIBRARIES) {
      boolean found = dirs.stream().anyMatch(d -> Files.exists(d.resolve(lib)));
      if (!found) {
        missing.add(lib);
      }
    }
    return missing;
  }

  /** How to get the CUDA libraries, for messages. */
  public static String cudaAdvice() {
    return "build with the gpu profile (scripts/mimtf runs 'mvn -Pgpu package' when MIMTF_GPU=1), which brings "
        + "org.bytedeco:cuda:12.3-8.9-1.5.10:linux-x86_64-redist and puts its libraries on LD_LIBRARY_PATH; "
        + "or install CUDA 12.3 and cuDNN 8.9 and add their lib folders to LD_LIBRARY_PATH. The NVIDIA driver "
        + "must be R545 or newer (nvidia-smi shows it).";
  }
}
