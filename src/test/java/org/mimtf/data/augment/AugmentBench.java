package org.mimtf.data.augment;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import javax.imageio.ImageIO;
import org.mimtf.config.proto.Interpolation;
import org.mimtf.data.Image;

/**
 * Single-thread throughput of the augmentation ops on a 256x256 RGB image (the pipeline's hot path).
 * Prints the median (and the best) over several timed runs of ms per image for each op and for the chain
 * decode → RandomResizedCrop(224) → flip → ColorJitter(0.4, 0.4, 0.4, 0.1) → Normalize.
 *
 * <p>Run after {@code mvn test-compile}: {@code java -cp <classes>:<test-classes>:<deps>
 * org.mimtf.data.augment.AugmentBench [images-per-run] [runs]}. Decoding uses javax.imageio (the
 * recipe's JAVA decoder) on an in-memory quality-90 JPEG.
 */
public final class AugmentBench {
  private AugmentBench() {}

  public static void main(String[] args) throws IOException {
    int perRun = args.length > 0 ? Integer.parseInt(args[0]) : 400;
    int runs = args.length > 1 ? Integer.parseInt(args[1]) : 9;
    Image source = syntheticImage(256, 256);
    byte[] jpeg = encodeJpeg(source);

    RandomResizedCrop rrcBicubic =
        new RandomResizedCrop(224, 0.08, 1.0, 0.75, 4.0 / 3.0, Interpolation.BICUBIC);
    RandomResizedCrop rrcBilinear =
        new RandomResizedCrop(224, 0.08, 1.0, 0.75, 4.0 / 3.0, Interpolation.BILINEAR);
    Image cropped = rrcBicubic.apply(source, new SplittableRandom(0));
    HorizontalFlip flipAlways = new HorizontalFlip(1.0);
    ColorJitter jitter = new ColorJitter(0.4, 0.4, 0.4, 0.1, 1.0);
    Normalize normalize = new Normalize(new float[0], new float[0]);
    Chain chain =
        Chain.of(rrcBicubic, new HorizontalFlip(0.5), jitter, normalize);
    ColorJitter.Params hueOnly =
        new ColorJitter.Params(new int[] {3, 0, 1, 2}, Float.NaN, Float.NaN, Float.NaN, 0.05f);

    Map<String, IntFunction<Object>> cases = new LinkedHashMap<>();
    cases.put("decode 256x256 JPEG (ImageIO)", i -> decode(jpeg));
    cases.put("RRC 224 bicubic (from 256^2)", i -> rrcBicubic.apply(source, rng(i)));
    cases.put("RRC 224 bilinear (from 256^2)", i -> rrcBilinear.apply(source, rng(i)));
    cases.put("flip 224 (p=1)", i -> flipAlways.apply(cropped, rng(i)));
    cases.put("ColorJitter(.4,.4,.4,.1) 224", i -> jitter.apply(cropped, rng(i)));
    cases.put("  of which hue alone", i -> ColorJitter.apply(cropped, hueOnly));
    cases.put("Normalize 224", i -> normalize.apply(cropped, rng(i)));
    cases.put("grayscale 224 (p=1)", i -> new RandomGrayscale(1.0).apply(cropped, rng(i)));
    GaussianBlur blur = new GaussianBlur(1.0, 0.1, 2.0);
    cases.put("GaussianBlur 224 sigma U(0.1,2)", i -> blur.apply(cropped, rng(i)));
    cases.put("solarize 224 (p=1)", i -> new Solarize(1.0, 0.5f).apply(cropped, rng(i)));
    cases.put("chain RRC+flip+jitter+normalize", i -> chain.apply(source, rng(i)));
    cases.put("decode + chain", i -> chain.apply(decode(jpeg), rng(i)));

    System.out.printf(
        "AugmentBench: %d images per run, median of %d runs, 1 thread, %s %s%n",
        perRun, runs, System.getProperty("java.vm.name"), System.getProperty("java.version"));
    System.out.printf("  %-36s %8s %8s  (ms/image)%n", "", "median", "best");
    for (Map.Entry<String, IntFunction<Object>> e : cases.entrySet()) {
      double[] ms = msPerImage(e.getValue(), perRun, runs);
      System.out.printf("  %-36s %8.3f %8.3f%n", e.getKey(), ms[runs / 2], ms[0]);
    }
  }

  private static SplittableRandom rng(int i) {
    return new SplittableRandom(0x9E3779B97F4A7C15L * (i + 1));
  }

  private static volatile Object sink;

  /** Sorted per-run ms/image (median = [runs / 2]; the best run shows the cost without interference). */
  private static double[] msPerImage(IntFunction<Object> op, int perRun, int runs) {
    for (int i = 0; i < Math.max(200, perRun); i++) { // warm-up (JIT)
      sink = op.apply(i);
    }
    double[] ms = new double[runs];
    for (int r = 0; r < runs; r++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < perRun; i++) {
        sink = op.apply(r * perRun + i);
      }
      ms[r] = (System.nanoTime() - t0) / 1e6 / perRun;
    }
    Arrays.sort(ms);
    return ms;
  }

  /** A smooth colour gradient plus deterministic noise, so the JPEG has realistic content. */
  static Image syntheticImage(int h, int w) {
    float[] px = new float[h * w * 3];
    SplittableRandom noise = new SplittableRandom(1);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int i = (y * w + x) * 3;
        double n = 0.1 * (noise.nextDouble() - 0.5);
        px[i] = (float) Math.min(1, Math.max(0, x / (double) w + n));
        px[i + 1] = (float) Math.min(1, Math.max(0, y / (double) h + n));
        px[i + 2] = (float) Math.min(1, Math.max(0, 0.5 + 0.5 * Math.sin((x + y) * 0.05) + n));
      }
    }
    return Image.wrap(h, w, 3, px);
  }

  static byte[] encodeJpeg(Image img) throws IOException {
    BufferedImage bi = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < img.height(); y++) {
      for (int x = 0; x < img.width(); x++) {
        int r = Math.round(img.get(y, x, 0) * 255);
        int g = Math.round(img.get(y, x, 1) * 255);
        int b = Math.round(img.get(y, x, 2) * 255);
        bi.setRGB(x, y, (r << 16) | (g << 8) | b);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(bi, "jpg", out);
    return out.toByteArray();
  }

  static Image decode(byte[] jpeg) {
    try {
      BufferedImage bi = ImageIO.read(new ByteArrayInputStream(jpeg));
      if (bi.getType() != BufferedImage.TYPE_3BYTE_BGR) {
        throw new IllegalStateException("unexpected decoded type " + bi.getType());
      }
      byte[] bgr = ((DataBufferByte) bi.getRaster().getDataBuffer()).getData();
      float[] px = new float[bgr.length];
      for (int i = 0; i < bgr.length; i += 3) {
        px[i] = (bgr[i + 2] & 0xff) * (1f / 255f);
        px[i + 1] = (bgr[i + 1] & 0xff) * (1f / 255f);
        px[i + 2] = (bgr[i] & 0xff) * (1f / 255f);
      }
      return Image.wrap(bi.getHeight(), bi.getWidth(), 3, px);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
