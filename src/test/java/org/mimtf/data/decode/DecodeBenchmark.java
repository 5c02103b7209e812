package org.mimtf.data.decode;

import java.util.Arrays;
import org.mimtf.data.source.SyntheticJpegSource;

/**
 * Single-thread decode time of {@link TfImageDecoder} vs {@link JavaImageDecoder} on the {@code
 * mimtf data bench} images (512 synthetic 256x256 quality-90 JPEGs, decoded to 3 channels,
 * including the conversion to float).
 *
 * <p>One warm-up pass per decoder (JIT, TF's first run), then 3 timed passes each, interleaved so
 * that machine noise hits both alike; prints the median. Run from the project root:
 *
 * <pre>
 * mvn -q -Dbuild.dir=/tmp/b test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/b/cp.txt
 * TF_CPP_MIN_LOG_LEVEL=2 java -cp /tmp/b/classes:/tmp/b/test-classes:$(cat /tmp/b/cp.txt) \
 *     org.mimtf.data.decode.DecodeBenchmark
 * </pre>
 *
 * The last line is one JSON object, for tools ({@code tail -1}).
 */
public final class DecodeBenchmark {
  private DecodeBenchmark() {}

  public static void main(String[] args) {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    long t0 = System.nanoTime();
    SyntheticJpegSource source = SyntheticJpegSource.benchDefault();
    double genS = (System.nanoTime() - t0) / 1e9;
    byte[][] jpegs = new byte[source.size()][];
    for (int i = 0; i < jpegs.length; i++) {
      jpegs[i] = source.read(i).encoded();
    }
    System.out.printf("%s, generated in %.1f s%n", source.describe(), genS);
    try (TfImageDecoder tf = new TfImageDecoder(1);
        JavaImageDecoder jv = new JavaImageDecoder()) {
      pass(tf, jpegs);
      pass(jv, jpegs);
      double[] tfMs = new double[runs];
      double[] jvMs = new double[runs];
      for (int r = 0; r < runs; r++) {
        tfMs[r] = pass(tf, jpegs);
        jvMs[r] = pass(jv, jpegs);
        System.out.printf(
            "run %d: tf %.3f ms/image, java %.3f ms/image%n", r + 1, tfMs[r], jvMs[r]);
      }
      double tfMed = median(tfMs);
      double jvMed = median(jvMs);
      System.out.printf(
          "median of %d: TfImageDecoder %.3f ms/image, JavaImageDecoder %.3f ms/image (java/tf ="
              + " %.2f)%n",
          runs, tfMed, jvMed, jvMed / tfMed);
      System.out.printf(
          "{\"name\":\"decode\",\"images\":%d,\"size\":256,\"quality\":90,\"threads\":1,"
              + "\"tf_ms_per_image\":%.3f,\"java_ms_per_image\":%.3f,\"cores\":%d}%n",
          jpegs.length, tfMed, jvMed, Runtime.getRuntime().availableProcessors());
    }
  }

  private static double pass(ImageDecoder d, byte[][] jpegs) {
    long t = System.nanoTime();
    float sink = 0;
    for (int i = 0; i < jpegs.length; i++) {
      sink += d.decode(jpegs[i], 3, "synthetic#" + i).data()[0];
    }
    if (sink < 0) {
      throw new AssertionError(); // keeps the results alive
    }
    return (System.nanoTime() - t) / 1e6 / jpegs.length;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }
}
