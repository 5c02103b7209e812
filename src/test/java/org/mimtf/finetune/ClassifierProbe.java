package org.mimtf.finetune;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.mimtf.data.source.TfRecordWriter;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Tensor;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TString;

/**
 * Runs a classifier SavedModel's three signatures on the same grey images, in whatever JVM it runs in:
 * {@code serving_default} on floats, {@code image_bytes} on their PNG files, and the Classify
 * signature on serialized {@code tf.train.Example}s holding those files. Usage:
 * {@code ClassifierProbe DIR BATCH SIZE SEED} → lines {@code name v0 v1 ...} and {@code classes c0 c1 ...}.
 */
public final class ClassifierProbe {
  private ClassifierProbe() {}

  /** Grey images [b, size, size, 1] with values k/255 (exact in an 8-bit PNG). */
  public static float[] images(int b, int size, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] a = new float[b * size * size];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextInt(256) / 255f;
    }
    return a;
  }

  static byte[] png(float[] images, int index, int size) throws IOException {
    BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        int v = Math.round(images[(index * size + y) * size + x] * 255f);
        img.getRaster().setSample(x, y, 0, v);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }

  public static void main(String[] args) throws IOException {
    for (var e : run(Path.of(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]),
        Long.parseLong(args[3])).entrySet()) {
      StringBuilder sb = new StringBuilder(e.getKey());
      for (Object v : e.getValue()) {
        sb.append(' ').append(v.toString().replace(' ', '_'));
      }
      System.out.println(sb);
    }
  }

  /** {@code predict/<output>}, {@code bytes/<output>}, {@code classify/scores}, {@code classify/classes}. */
  public static Map<String, List<Object>> run(Path dir, int b, int size, long seed) throws IOException {
    float[] imgs = images(b, size, seed);
    byte[][] files = new byte[b][];
    byte[][] examples = new byte[b][];
    for (int i = 0; i < b; i++) {
      files[i] = png(imgs, i, size);
      examples[i] = TfRecordWriter.imageExample(files[i], "png", size, size, 0).toByteArray();
    }
    Map<String, List<Object>> out = new LinkedHashMap<>();
    try (SavedModelBundle bundle = SavedModelBundle.load(dir.toString(), "serve");
        TFloat32 in = TFloat32.tensorOf(Shape.of(b, size, size, 1), DataBuffers.of(imgs, true, false));
        TString bytes = strings(files);
        TString ex = strings(examples)) {
      collect(out, "predict", bundle.function("serving_default").call(Map.of("images", in)));
      collect(out, "bytes", bundle.function("image_bytes").call(Map.of("image_bytes", bytes)));
      collect(out, "classify", bundle.function("tensorflow/serving/classify").call(Map.of("inputs", ex)));
    }
    return out;
  }

  private static TString strings(byte[][] data) {
    var nd = NdArrays.ofObjects(byte[].class, Shape.of(data.length));
    for (int i = 0; i < data.length; i++) {
      nd.setObject(data[i], i);
    }
    return TString.tensorOfBytes(nd);
  }

  private static void collect(Map<String, List<Object>> out, String prefix, Result r) {
    try (r) {
      for (var e : r) {
        Tensor t = e.getValue();
        List<Object> v = new ArrayList<>();
        if (t instanceof TFloat32 f) {
          f.scalars().forEach(s -> v.add(s.getFloat()));
        } else if (t instanceof org.tensorflow.types.TInt32 i) {
          i.scalars().forEach(s -> v.add(s.getInt()));
        } else if (t instanceof TString s) {
          s.scalars().forEach(x -> v.add(x.getObject()));
        }
        out.put(prefix + "/" + e.getKey(), v);
      }
    }
  }

  /** Runs {@link #main} in a new JVM on this test's class path and parses its output. */
  public static Map<String, List<String>> runInFreshJvm(Path dir, int b, int size, long seed)
      throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
        ClassifierProbe.class.getName(), dir.toString(), "" + b, "" + size, "" + seed);
    pb.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    File log = Files.createTempFile("probe", ".out").toFile();
    pb.redirectOutput(log);
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    int code = pb.start().waitFor();
    List<String> lines = Files.readAllLines(log.toPath());
    log.delete();
    if (code != 0) {
      throw new IllegalStateException("probe JVM exited with " + code + ": " + lines);
    }
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (String line : lines) {
      String[] parts = line.trim().split(" ");
      out.put(parts[0], List.of(parts).subList(1, parts.length));
    }
    return out;
  }
}
