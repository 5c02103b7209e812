package org.mimtf.nn;

import com.google.common.base.Supplier;
import com.google.common.base.Suppliers;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.tensorflow.TensorFlow;

/**
 * mimtf's own TensorFlow kernels ({@code src/main/c/mimtf_ops.c}: {@code MimtfLayerNorm} and its
 * gradient), loaded into the process's TensorFlow once, on first use.
 *
 * <p>Why a native library: the fusion that the training step lacks (LayerNorm with its row statistics
 * kept for the backward pass) is one TF 2.16 does only in inference graphs; TF Java's native library
 * exports TensorFlow's C API for kernels and ops, so a small C library built by the Maven build
 * ({@code scripts/build-native.sh}, with the system's gcc) adds it. Where it was not built (no C
 * compiler) or does not load, {@link #available()} is false with a reason, and callers keep TF's ops.
 */
public final class NativeOps {
  static final String RESOURCE = "/org/mimtf/nn/native/libmimtf_ops.so";

  private NativeOps() {}

  /** Null when loaded, else why not. */
  private static final Supplier<String> PROBLEM = Suppliers.memoize(NativeOps::load);

  /** Whether the library is built and loaded (its ops registered in this process). */
  public static boolean available() {
    return PROBLEM.get() == null;
  }

  /** Why {@link #available()} is false; empty when it is true. */
  public static String unavailableReason() {
    String p = PROBLEM.get();
    return p == null ? "" : p;
  }

  private static String load() {
    if ("off".equals(System.getenv("MIMTF_NATIVE_OPS"))) {
      return "switched off by MIMTF_NATIVE_OPS=off";
    }
    if (!System.getProperty("os.name", "").toLowerCase().contains("linux")
        || !System.getProperty("os.arch", "").matches("amd64|x86_64")) {
      return "built for Linux x86-64 only";
    }
    URL url = NativeOps.class.getResource(RESOURCE);
    if (url == null) {
      return "not built (no C compiler when mimtf was built; scripts/build-native.sh)";
    }
    try {
      Path lib;
      if ("file".equals(url.getProtocol())) {
        lib = Path.of(url.toURI());
      } else { // inside a jar: TensorFlow loads from a file
        lib = Files.createTempFile("libmimtf_ops", ".so");
        lib.toFile().deleteOnExit();
        try (InputStream in = url.openStream()) {
          Files.copy(in, lib, StandardCopyOption.REPLACE_EXISTING);
        }
      }
      TensorFlow.loadLibrary(lib.toString());
      return null;
    } catch (IOException | URISyntaxException | RuntimeException | UnsatisfiedLinkError e) {
      return "did not load: " + e.getMessage();
    }
  }
}
