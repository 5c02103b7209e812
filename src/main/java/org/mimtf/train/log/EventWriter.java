package org.mimtf.train.log;

import com.google.protobuf.ByteString;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.mimtf.data.source.TfRecordWriter;
import org.tensorflow.proto.Event;
import org.tensorflow.proto.Summary;

/**
 * Writes TensorBoard event files: TFRecord-framed {@code tensorflow.Event} protos in
 * {@code events.out.tfevents.<seconds>.<host>}, starting with the {@code brain.Event:2} version record,
 * exactly what {@code tf.summary.FileWriter} writes, so {@code tensorboard --logdir} reads them.
 */
public final class EventWriter implements Closeable {
  private final OutputStream out;
  private final TfRecordWriter records;
  private final Path file;

  public EventWriter(Path dir) {
    try {
      Files.createDirectories(dir);
      long now = System.currentTimeMillis();
      String host;
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (IOException e) {
        host = "localhost";
      }
      file = dir.resolve("events.out.tfevents." + (now / 1000) + "." + host);
      out = new BufferedOutputStream(Files.newOutputStream(file));
      records = new TfRecordWriter(out);
      write(Event.newBuilder().setWallTime(now / 1000.0).setFileVersion("brain.Event:2").build());
      flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create TensorBoard event file in " + dir + ": " + e.getMessage(), e);
    }
  }

  public Path file() {
    return file;
  }

  /** A scalar under {@code tag} at {@code step}. */
  public void scalar(String tag, long step, double value) {
    Summary s = Summary.newBuilder()
        .addValue(Summary.Value.newBuilder().setTag(tag).setSimpleValue((float) value))
        .build();
    summary(step, s);
  }

  /** A PNG image under {@code tag} at {@code step}. */
  public void image(String tag, long step, byte[] png, int height, int width, int channels) {
    Summary.Image img = Summary.Image.newBuilder().setHeight(height).setWidth(width).setColorspace(channels)
        .setEncodedImageString(ByteString.copyFrom(png)).build();
    summary(step, Summary.newBuilder().addValue(Summary.Value.newBuilder().setTag(tag).setImage(img)).build());
  }

  private void summary(long step, Summary s) {
    write(Event.newBuilder().setWallTime(System.currentTimeMillis() / 1000.0).setStep(step).setSummary(s).build());
  }

  private void write(Event e) {
    try {
      records.write(e.toByteArray());
    } catch (IOException ex) {
      throw new UncheckedIOException("cannot write " + file + ": " + ex.getMessage(), ex);
    }
  }

  public void flush() {
    try {
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    try {
      records.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
