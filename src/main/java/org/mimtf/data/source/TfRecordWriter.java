package org.mimtf.data.source;

import com.google.protobuf.ByteString;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.tensorflow.proto.BytesList;
import org.tensorflow.proto.Example;
import org.tensorflow.proto.Feature;
import org.tensorflow.proto.Features;
import org.tensorflow.proto.Int64List;

/**
 * Writes records in the TFRecord framing ({@link TfRecordFormat}), readable by {@code
 * tf.data.TFRecordDataset} and by {@link TfRecordReader}. Not thread-safe.
 */
public final class TfRecordWriter implements Closeable {
  private final OutputStream out;
  private final ByteBuffer header =
      ByteBuffer.allocate(TfRecordFormat.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
  private final ByteBuffer footer =
      ByteBuffer.allocate(TfRecordFormat.FOOTER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
  private long bytesWritten;

  /** Writes to {@code out} (buffering is the caller's business); {@link #close} closes it. */
  public TfRecordWriter(OutputStream out) {
    this.out = out;
  }

  /** Creates or truncates {@code path}. */
  public static TfRecordWriter create(Path path) throws IOException {
    return new TfRecordWriter(new BufferedOutputStream(Files.newOutputStream(path), 1 << 16));
  }

  /** Appends one record holding {@code data}. */
  public void write(byte[] data) throws IOException {
    header.clear();
    header.putLong(data.length);
    header.putInt(TfRecordFormat.maskedCrc32c(header.array(), 0, 8));
    footer.clear();
    footer.putInt(TfRecordFormat.maskedCrc32c(data));
    out.write(header.array());
    out.write(data);
    out.write(footer.array());
    bytesWritten += TfRecordFormat.HEADER_BYTES + data.length + TfRecordFormat.FOOTER_BYTES;
  }

  /** Appends {@code example} serialised. */
  public void write(Example example) throws IOException {
    write(example.toByteArray());
  }

  /** Bytes written so far: the offset the next record will start at. */
  public long bytesWritten() {
    return bytesWritten;
  }

  @Override
  public void close() throws IOException {
    out.close();
  }

  /**
   * A {@code tf.train.Example} in the layout of TF's image-classification converters (the one
   * {@link TfRecordSource} reads): {@code image/encoded} bytes, {@code image/format}, {@code
   * image/height}, {@code image/width} and {@code image/class/label}.
   */
  public static Example imageExample(
      byte[] encoded, String format, int height, int width, long label) {
    return Example.newBuilder()
        .setFeatures(
            Features.newBuilder()
                .putFeature(TfRecordSource.IMAGE_KEY, bytes(encoded))
                .putFeature("image/format", bytes(format.getBytes(StandardCharsets.US_ASCII)))
                .putFeature("image/height", int64(height))
                .putFeature("image/width", int64(width))
                .putFeature(TfRecordSource.LABEL_KEY, int64(label)))
        .build();
  }

  private static Feature bytes(byte[] b) {
    return Feature.newBuilder()
        .setBytesList(BytesList.newBuilder().addValue(ByteString.copyFrom(b)))
        .build();
  }

  private static Feature int64(long v) {
    return Feature.newBuilder().setInt64List(Int64List.newBuilder().addValue(v)).build();
  }
}
