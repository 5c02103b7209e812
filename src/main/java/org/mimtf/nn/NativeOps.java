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
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
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

  private static final Set<String> GRADIENTS = ConcurrentHashMap.newKeySet();

  /**
   * Registers, once per process, the gradient of native op {@code op} as one native {@code gradOp}
   * whose inputs are the incoming gradient of output 0 followed by {@code inputs(op)}, and whose first
   * {@code numInputs} outputs are the gradients of {@code op}'s inputs, in order (the kernels' own
   * contract; the other outputs of {@code op}, saved statistics, feed nothing else).
   */
  static void registerGradient(String op, String gradOp, Function<GraphOperation, List<Output<?>>> inputs,
      int numInputs) {
    registerGradient(op, gradOp, 1, inputs, numInputs);
  }

  /**
   * As above with the incoming gradients of {@code op}'s first {@code gradsIn} outputs first (for an
   * op with several outputs that feed the graph). TF's gradient builder fills in zeros for an output
   * no gradient reaches while others do, so each of them is a real tensor here.
   */
  static void registerGradient(String op, String gradOp, int gradsIn, Function<GraphOperation, List<Output<?>>> inputs,
      int numInputs) {
    if (!GRADIENTS.add(op)) {
      return;
    }
    boolean ours = TensorFlow.registerCustomGradient(op, (tf, fwd, dys) -> {
      var b = tf.scope().opBuilder(gradOp, gradOp.replace("Mimtf", ""));
      for (int k = 0; k < gradsIn; k++) {
        b.addInput(dys.get(k).asOutput());
      }
      for (Output<?> in : inputs.apply(fwd)) {
        b.addInput(in);
      }
      GraphOperation grad = (GraphOperation) b.build();
      List<Operand<?>> out = new ArrayList<>();
      for (int k = 0; k < numInputs; k++) {
        out.add(grad.output(k));
      }
      return out;
    });
    if (!ours) {
      throw new IllegalStateException(op + " already has a gradient; the one registered here was not installed");
    }
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
