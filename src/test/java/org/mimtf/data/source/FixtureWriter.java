package org.mimtf.data.source;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.mimtf.data.Image;

/**
 * Writes {@code test-data/tfrecord/fmnist-small.tfrecord} (run by {@code
 * test-data/make-fixtures.sh}): the first N images of an IDX source as 8-bit gray PNGs in {@code
 * tf.train.Example}s.
 *
 * <p>Usage: {@code FixtureWriter <images.idx[.gz]> <labels.idx[.gz]> <count> <out.tfrecord>}
 */
public final class FixtureWriter {
  private FixtureWriter() {}

  public static void main(String[] args) throws IOException {
    if (args.length != 4) {
      System.err.println("usage: FixtureWriter <images> <labels> <count> <out.tfrecord>");
      System.exit(2);
    }
    IdxSource idx = IdxSource.open(Path.of(args[0]), Path.of(args[1]), 10);
    int count = Integer.parseInt(args[2]);
    try (TfRecordWriter w = TfRecordWriter.create(Path.of(args[3]))) {
      for (int i = 0; i < count; i++) {
        Record r = idx.read(i);
        w.write(
            TfRecordWriter.imageExample(
                png(r.pixels()), "png", idx.height(), idx.width(), r.label()));
      }
      System.out.println(
          "wrote " + count + " examples, " + w.bytesWritten() + " bytes to " + args[3]);
    }
  }

  /** An 8-bit gray PNG of a 1-channel image (values are exact multiples of 1/255). */
  static byte[] png(Image img) throws IOException {
    BufferedImage b = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_BYTE_GRAY);
    byte[] px = ((DataBufferByte) b.getRaster().getDataBuffer()).getData();
    float[] d = img.data();
    for (int i = 0; i < px.length; i++) {
      px[i] = (byte) Math.round(d[i] * 255f);
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(b, "png", out);
    return out.toByteArray();
  }
}
