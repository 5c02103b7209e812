package org.mimtf.util;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} (format 1.0) for float32 arrays: how tokenizer artifacts (k-means centroids) are
 * stored, so Python reads them with {@code np.load} as the official CCViT code stores its centroids.
 */
public final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

  private Npy() {}

  /** A float32 array with its shape. */
  public record Array(float[] data, long[] shape) {}

  public static void write(Path file, float[] data, long... shape) throws IOException {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    checkArgument(n == data.length, "shape product (%s) must equal data length (%s)", n, data.length);
    StringBuilder dims = new StringBuilder();
    for (long d : shape) {
      dims.append(d).append(", ");
    }
    String dimText = shape.length == 1 ? dims.toString().trim() : dims.substring(0, dims.length() - 2);
    String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dimText + "), }";
    int total = MAGIC.length + 2 + 2 + header.length() + 1;
    int pad = (64 - total % 64) % 64;
    header = header + " ".repeat(pad) + "\n";
    ByteBuffer buf = ByteBuffer.allocate(MAGIC.length + 4 + header.length() + data.length * 4)
        .order(ByteOrder.LITTLE_ENDIAN);
    buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
    buf.put(header.getBytes(StandardCharsets.US_ASCII));
    buf.asFloatBuffer().put(data);
    Files.write(file, buf.array());
  }

  public static Array read(Path file) {
    byte[] all;
    try {
      all = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new UserException(file + ": cannot read: " + e.getMessage(), e);
    }
    ByteBuffer buf = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
    for (byte b : MAGIC) {
      if (buf.remaining() == 0 || buf.get() != b) {
        throw new UserException(file + ": not a .npy file (bad magic)");
      }
    }
    int major = buf.get();
    buf.get();
    int headerLen = major == 1 ? buf.getShort() & 0xffff : buf.getInt();
    String header = new String(all, buf.position(), headerLen, StandardCharsets.US_ASCII);
    buf.position(buf.position() + headerLen);
    if (!header.contains("'<f4'") || header.contains("'fortran_order': True")) {
      throw new UserException(file + ": expected a C-order float32 array ('<f4'), header: " + header.trim());
    }
    Matcher m = SHAPE.matcher(header);
    if (!m.find()) {
      throw new UserException(file + ": no shape in header: " + header.trim());
    }
    String[] parts = m.group(1).split(",");
    long[] shape = java.util.Arrays.stream(parts).map(String::trim).filter(s -> !s.isEmpty())
        .mapToLong(Long::parseLong).toArray();
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    if (buf.remaining() < n * 4) {
      throw new UserException(file + ": truncated: header says " + n + " floats, file has "
          + buf.remaining() / 4);
    }
    float[] data = new float[(int) n];
    buf.asFloatBuffer().get(data);
    return new Array(data, shape);
  }
}
