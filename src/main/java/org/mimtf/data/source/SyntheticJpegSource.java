package org.mimtf.data.source;

import static com.google.common.base.Preconditions.checkArgument;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Path2D;
import java.awt.geom.RoundRectangle2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.SplittableRandom;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Deterministic synthetic JPEGs held in memory, for measuring the input pipeline ({@code mimtf data
 * bench}) without a data set on disk.
 *
 * <p>A benchmark on flat or random-noise images would mislead: flat images compress to almost
 * nothing and decode too fast, noise does the opposite. These images are built to look like
 * photographs to a JPEG codec: a smooth colour gradient, low-frequency waves, a handful of
 * anti-aliased shapes with edges, and sensor-like grain. At 256x256 and quality 90 they average
 * about 21 KB, in the range of ImageNet photos resized to that resolution.
 *
 * <p>Image {@code i} depends only on {@code (seed, i)}, so runs are comparable across machines.
 * Label {@code i} is {@code i % numClasses} (0 when {@code numClasses} is 0).
 */
public final class SyntheticJpegSource implements Source {
  private final int size;
  private final int quality;
  private final int numClasses;
  private final byte[][] jpegs;

  /**
   * Generates and encodes {@code count} images of {@code size}x{@code size} at JPEG {@code
   * quality}.
   *
   * @throws IllegalArgumentException if count or size is not positive or quality is not in [1, 100]
   */
  public SyntheticJpegSource(int count, int size, int quality, int numClasses, long seed) {
    checkArgument(count > 0, "synthetic_count (%s) must be > 0", count);
    checkArgument(size > 0, "synthetic_size (%s) must be > 0", size);
    checkArgument(
        quality >= 1 && quality <= 100, "synthetic_jpeg_quality (%s) must be in [1, 100]", quality);
    checkArgument(numClasses >= 0, "num_classes (%s) must be >= 0", numClasses);
    this.size = size;
    this.quality = quality;
    this.numClasses = numClasses;
    this.jpegs = new byte[count][];
    for (int i = 0; i < count; i++) {
      jpegs[i] =
          encode(render(size, new SplittableRandom(seed * 0x9E3779B97F4A7C15L + i)), quality);
    }
  }

  /** The {@code mimtf data bench} default: 512 images, 256x256, quality 90, seed 0. */
  public static SyntheticJpegSource benchDefault() {
    return new SyntheticJpegSource(512, 256, 90, 0, 0);
  }

  /** An RGB image: gradient + waves + shapes + noise. */
  static BufferedImage render(int size, SplittableRandom rnd) {
    BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_3BYTE_BGR);
    byte[] px = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    float[][] corner = new float[4][3];
    for (float[] c : corner) {
      for (int k = 0; k < 3; k++) {
        c[k] = (float) rnd.nextDouble(20, 235);
      }
    }
    double fx = rnd.nextDouble(1, 4) * 2 * Math.PI / size;
    double fy = rnd.nextDouble(1, 4) * 2 * Math.PI / size;
    double phase = rnd.nextDouble(2 * Math.PI);
    double amp = rnd.nextDouble(10, 30);
    for (int y = 0; y < size; y++) {
      float v = (float) y / Math.max(1, size - 1);
      for (int x = 0; x < size; x++) {
        float u = (float) x / Math.max(1, size - 1);
        double wave = amp * Math.sin(fx * x + phase) * Math.cos(fy * y);
        int p = (y * size + x) * 3;
        for (int k = 0; k < 3; k++) {
          double c =
              (1 - u) * (1 - v) * corner[0][k]
                  + u * (1 - v) * corner[1][k]
                  + (1 - u) * v * corner[2][k]
                  + u * v * corner[3][k]
                  + wave * (k == 1 ? -1 : 1);
          px[p + 2 - k] = (byte) clamp(c); // BGR
        }
      }
    }
    Graphics2D g = img.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      int shapes = 4 + rnd.nextInt(6);
      for (int s = 0; s < shapes; s++) {
        g.setColor(
            new Color(
                rnd.nextInt(256), rnd.nextInt(256), rnd.nextInt(256), 120 + rnd.nextInt(136)));
        double x = rnd.nextDouble(-0.2, 1.0) * size;
        double y = rnd.nextDouble(-0.2, 1.0) * size;
        double w = rnd.nextDouble(0.08, 0.5) * size;
        double h = rnd.nextDouble(0.08, 0.5) * size;
        switch (rnd.nextInt(4)) {
          case 0 -> g.fill(new Ellipse2D.Double(x, y, w, h));
          case 1 -> g.fill(new RoundRectangle2D.Double(x, y, w, h, w / 4, h / 4));
          case 2 -> {
            Path2D.Double tri = new Path2D.Double();
            tri.moveTo(x, y + h);
            tri.lineTo(x + w / 2, y);
            tri.lineTo(x + w, y + h);
            tri.closePath();
            g.fill(tri);
          }
          default -> {
            g.setStroke(new BasicStroke((float) rnd.nextDouble(1, 6)));
            g.drawLine((int) x, (int) y, (int) (x + w), (int) (y + h));
          }
        }
      }
    } finally {
      g.dispose();
    }
    // Sensor-like grain: mostly luminance (same offset on all channels), a little chroma. This is
    // what brings the compressed size up to that of a photo.
    for (int p = 0; p < px.length; p += 3) {
      double grain = rnd.nextDouble(-11, 11);
      for (int k = 0; k < 3; k++) {
        px[p + k] = (byte) clamp((px[p + k] & 0xff) + grain + rnd.nextDouble(-4, 4));
      }
    }
    return img;
  }

  private static int clamp(double v) {
    return (int) Math.max(0, Math.min(255, Math.round(v)));
  }

  /** Encodes {@code img} as a baseline JPEG of the given quality (1..100, as libjpeg/PIL). */
  static byte[] encode(BufferedImage img, int quality) {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 << 10);
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      ImageWriteParam param = writer.getDefaultWriteParam();
      param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      param.setCompressionQuality(quality / 100f);
      writer.write(null, new IIOImage(img, null, null), param);
    } catch (IOException e) {
      throw new UncheckedIOException("JPEG encoding of a synthetic image failed", e);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  @Override
  public int size() {
    return jpegs.length;
  }

  @Override
  public int numClasses() {
    return numClasses;
  }

  /** Mean encoded size in bytes, for benchmark reports. */
  public double meanBytes() {
    long sum = 0;
    for (byte[] j : jpegs) {
      sum += j.length;
    }
    return (double) sum / jpegs.length;
  }

  @Override
  public Record read(int index) {
    if (index < 0 || index >= jpegs.length) {
      throw new IndexOutOfBoundsException(
          "index (" + index + ") must be in [0, " + jpegs.length + ")");
    }
    // A copy: records are handed to other threads and the bytes must not be shared mutable state.
    return Record.encoded(
        index, "synthetic#" + index, jpegs[index].clone(), numClasses > 0 ? index % numClasses : 0);
  }

  @Override
  public String describe() {
    return "synthetic "
        + jpegs.length
        + " JPEGs "
        + size
        + "x"
        + size
        + " q"
        + quality
        + String.format(" (mean %.1f KB)", meanBytes() / 1024);
  }
}
