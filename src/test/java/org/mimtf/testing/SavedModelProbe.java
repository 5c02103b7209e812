package org.mimtf.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Runs a SavedModel's {@code serving_default} on deterministic random images, in whatever JVM it runs
 * in: tests start it in a fresh JVM ({@link #runInFreshJvm}) to prove that an export loads and gives
 * the same outputs without anything of the exporting process.
 *
 * <p>Usage: {@code SavedModelProbe DIR BATCH H W C SEED} → one line per output, sorted by name:
 * {@code name v0 v1 ...}.
 */
public final class SavedModelProbe {
  private SavedModelProbe() {}

  public static float[] images(int batch, int h, int w, int c, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] a = new float[batch * h * w * c];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) r.nextDouble();
    }
    return a;
  }

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    int b = Integer.parseInt(args[1]);
    int h = Integer.parseInt(args[2]);
    int w = Integer.parseInt(args[3]);
    int c = Integer.parseInt(args[4]);
    long seed = Long.parseLong(args[5]);
    for (Map.Entry<String, float[]> e : run(dir, b, h, w, c, seed).entrySet()) {
      StringBuilder sb = new StringBuilder(e.getKey());
      for (float v : e.getValue()) {
        sb.append(' ').append(v);
      }
      System.out.println(sb);
    }
  }

  /** Outputs of the model on the probe images, by name (ints converted to floats). */
  public static Map<String, float[]> run(Path dir, int b, int h, int w, int c, long seed) {
    Map<String, float[]> out = new TreeMap<>();
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve");
        TFloat32 in = TFloat32.tensorOf(Shape.of(b, h, w, c), DataBuffers.of(images(b, h, w, c, seed), true, false))) {
      var fn = bundle.function("serving_default");
      String input = fn.signature().inputNames().iterator().next();
      try (Result r = fn.call(Map.of(input, in))) {
        for (var e : r) {
          Tensor t = e.getValue();
          float[] v = new float[(int) t.shape().size()];
          if (t instanceof TFloat32 f) {
            f.asRawTensor().data().asFloats().read(v);
          } else if (t instanceof TInt32 i) {
            int[] iv = new int[v.length];
            i.asRawTensor().data().asInts().read(iv);
            for (int k = 0; k < v.length; k++) {
              v[k] = iv[k];
            }
          }
          out.put(e.getKey(), v);
        }
      }
    }
    return out;
  }

  /** Runs {@link #main} in a new JVM on this test's class path and parses its output. */
  public static Map<String, float[]> runInFreshJvm(Path dir, int b, int h, int w, int c, long seed)
      throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
        SavedModelProbe.class.getName(), dir.toString(), "" + b, "" + h, "" + w, "" + c, "" + seed));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    File log = Files.createTempFile("probe", ".out").toFile();
    pb.redirectOutput(log);
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    int code = p.waitFor();
    List<String> lines = Files.readAllLines(log.toPath());
    log.delete();
    if (code != 0) {
      throw new IllegalStateException("probe JVM exited with " + code + ": " + lines);
    }
    Map<String, float[]> out = new LinkedHashMap<>();
    for (String line : lines) {
      String[] parts = line.trim().split(" ");
      float[] v = new float[parts.length - 1];
      for (int i = 1; i < parts.length; i++) {
        v[i - 1] = Float.parseFloat(parts[i]);
      }
      out.put(parts[0], v);
    }
    return out;
  }
}
