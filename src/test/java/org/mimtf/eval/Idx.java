package org.mimtf.eval;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** Reads gzip IDX files (the MNIST / Fashion-MNIST format) of unsigned bytes, for tests. */
final class Idx {
  /** The Debian package {@code fashion-mnist} puts the four files here. */
  static final Path FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

  private Idx() {}

  /** Images as row-major [n, rows·cols] floats in [0, 1] (uint8 / 255). */
  static float[] images(Path gz) throws IOException {
    byte[] raw = read(gz, 3);
    float[] out = new float[raw.length];
    for (int i = 0; i < raw.length; i++) {
      out[i] = (raw[i] & 0xff) / 255f;
    }
    return out;
  }

  /** Labels as ints. */
  static int[] labels(Path gz) throws IOException {
    byte[] raw = read(gz, 1);
    int[] out = new int[raw.length];
    for (int i = 0; i < raw.length; i++) {
      out[i] = raw[i] & 0xff;
    }
    return out;
  }

  /** The payload of an IDX file of type unsigned byte (0x08) and the given rank. */
  private static byte[] read(Path gz, int rank) throws IOException {
    try (InputStream in = new GZIPInputStream(Files.newInputStream(gz), 1 << 16);
         DataInputStream data = new DataInputStream(in)) {
      int magic = data.readInt();
      if ((magic >>> 8) != 0x08 || (magic & 0xff) != rank) {
        throw new IOException(gz + ": IDX magic 0x" + Integer.toHexString(magic)
            + ", expected 0x0000080" + rank + " (uint8, rank " + rank + ")");
      }
      long n = 1;
      for (int i = 0; i < rank; i++) {
        n *= data.readInt();
      }
      byte[] out = new byte[Math.toIntExact(n)];
      try {
        data.readFully(out);
      } catch (EOFException e) {
        throw new IOException(gz + ": truncated, expected " + n + " values", e);
      }
      return out;
    }
  }
}
