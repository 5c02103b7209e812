package org.mimtf.data.source;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import org.mimtf.data.BadInputException;

/**
 * Random access to the records of one TFRecord file (a shard).
 *
 * <p>{@link #open} walks the shard once from header to header: it reads each 12-byte header, checks
 * the length's CRC and jumps over the data. That builds an offset index (12 bytes of memory per
 * record) without reading the data, so a 140 GB ImageNet shard set is indexed in seconds, and after
 * that any record can be read directly: what lets the pipeline shuffle, shard and resume by index
 * instead of streaming.
 *
 * <p>Reads use positional {@link FileChannel} reads, which are thread-safe and do not move a shared
 * file pointer, so pipeline workers read concurrently without locking. One catch: interrupting a
 * thread blocked in a channel read closes the channel for everyone. The reader then reopens the
 * file, so a worker cancelled at shutdown does not break reads on other threads.
 *
 * <p>Every problem is a {@link BadInputException} whose origin is {@code shard@offset}, the byte
 * offset of the record's header, so {@code dd skip=<offset>} or a hex editor finds it.
 */
public final class TfRecordReader implements Closeable {
  private final Path path;
  private final long[] offsets;
  private final int[] lengths;
  private volatile FileChannel channel;
  private volatile boolean closed;

  private TfRecordReader(Path path, FileChannel channel, long[] offsets, int[] lengths) {
    this.path = path;
    this.channel = channel;
    this.offsets = offsets;
    this.lengths = lengths;
  }

  /**
   * Opens {@code path} and indexes its records.
   *
   * @throws BadInputException if the file cannot be read, a length CRC is wrong, or the last record
   *     is cut short (a truncated copy or an unfinished write)
   */
  public static TfRecordReader open(Path path) {
    FileChannel ch;
    try {
      ch = FileChannel.open(path, StandardOpenOption.READ);
    } catch (IOException e) {
      throw new BadInputException(path.toString(), "cannot open TFRecord file: " + e, e);
    }
    try {
      long size = ch.size();
      long[] offsets = new long[64];
      int[] lengths = new int[64];
      int n = 0;
      ByteBuffer header =
          ByteBuffer.allocate(TfRecordFormat.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
      long pos = 0;
      while (pos < size) {
        String origin = path + "@" + pos;
        if (size - pos < TfRecordFormat.HEADER_BYTES) {
          throw new BadInputException(
              origin,
              "truncated TFRecord: "
                  + (size - pos)
                  + " bytes left at the end of the file, a record"
                  + " header needs "
                  + TfRecordFormat.HEADER_BYTES);
        }
        header.clear();
        readFully(ch, header, pos, origin);
        long length = header.getLong(0);
        int storedCrc = header.getInt(8);
        int crc = TfRecordFormat.maskedCrc32c(header.array(), 0, 8);
        if (crc != storedCrc) {
          throw new BadInputException(
              origin,
              String.format(
                  "corrupt TFRecord header: length CRC mismatch (stored %08x, computed %08x);"
                      + " not a TFRecord file, or damaged",
                  storedCrc, crc));
        }
        long end = pos + TfRecordFormat.HEADER_BYTES + length + TfRecordFormat.FOOTER_BYTES;
        if (length > Integer.MAX_VALUE - 64) {
          throw new BadInputException(
              origin, "TFRecord of " + length + " bytes is too large (max 2 GiB)");
        }
        if (end > size) {
          throw new BadInputException(
              origin,
              "truncated TFRecord: the record of "
                  + length
                  + " bytes ends at byte "
                  + end
                  + " but the file has "
                  + size
                  + " bytes");
        }
        if (n == offsets.length) {
          offsets = Arrays.copyOf(offsets, n * 2);
          lengths = Arrays.copyOf(lengths, n * 2);
        }
        offsets[n] = pos;
        lengths[n] = (int) length;
        n++;
        pos = end;
      }
      return new TfRecordReader(path, ch, Arrays.copyOf(offsets, n), Arrays.copyOf(lengths, n));
    } catch (IOException e) {
      closeQuietly(ch);
      throw new BadInputException(path.toString(), "cannot read TFRecord file: " + e, e);
    } catch (RuntimeException e) {
      closeQuietly(ch);
      throw e;
    }
  }

  /** The shard's path. */
  public Path path() {
    return path;
  }

  /** Number of records. */
  public int size() {
    return offsets.length;
  }

  /** Byte offset of record {@code i}'s header. */
  public long offset(int i) {
    return offsets[i];
  }

  /** {@code shard@offset} of record {@code i}, as used in error messages. */
  public String origin(int i) {
    return path + "@" + offsets[i];
  }

  /**
   * The data of record {@code i}, after checking its CRC.
   *
   * @throws BadInputException if the data CRC does not match or the file changed under us
   * @throws IndexOutOfBoundsException if {@code i} is not in [0, size())
   */
  public byte[] read(int i) {
    if (i < 0 || i >= offsets.length) {
      throw new IndexOutOfBoundsException(
          "record (" + i + ") must be in [0, " + offsets.length + ") of " + path);
    }
    String origin = origin(i);
    int length = lengths[i];
    byte[] data = new byte[length + TfRecordFormat.FOOTER_BYTES];
    ByteBuffer buf = ByteBuffer.wrap(data);
    readWithReopen(buf, offsets[i] + TfRecordFormat.HEADER_BYTES, origin);
    int stored = ByteBuffer.wrap(data, length, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    int crc = TfRecordFormat.maskedCrc32c(data, 0, length);
    if (crc != stored) {
      throw new BadInputException(
          origin,
          String.format(
              "corrupt TFRecord: data CRC mismatch (stored %08x, computed %08x) in the record of %d"
                  + " bytes",
              stored, crc, length));
    }
    return Arrays.copyOf(data, length);
  }

  private void readWithReopen(ByteBuffer buf, long position, String origin) {
    for (int attempt = 0; ; attempt++) {
      FileChannel ch = channel;
      try {
        readFully(ch, buf, position, origin);
        return;
      } catch (ClosedChannelException e) {
        // Closed by close(), or by an interrupt (ours or another thread's) during a read.
        if (closed) {
          throw new IllegalStateException("TfRecordReader of " + path + " is closed", e);
        }
        reopen(ch);
        if (Thread.currentThread().isInterrupted() || attempt >= 3) {
          throw new UncheckedIOException("interrupted while reading " + origin, e);
        }
        buf.clear();
      } catch (IOException e) {
        throw new BadInputException(origin, "cannot read TFRecord: " + e, e);
      }
    }
  }

  private synchronized void reopen(FileChannel broken) {
    if (channel == broken && !closed) {
      try {
        channel = FileChannel.open(path, StandardOpenOption.READ);
      } catch (IOException e) {
        throw new BadInputException(path.toString(), "cannot reopen TFRecord file: " + e, e);
      }
    }
  }

  private static void readFully(FileChannel ch, ByteBuffer buf, long position, String origin)
      throws IOException {
    int start = buf.position();
    while (buf.hasRemaining()) {
      int n = ch.read(buf, position + buf.position() - start);
      if (n < 0) {
        throw new BadInputException(
            origin,
            "truncated TFRecord: the file ended while reading (was it changed after indexing?)");
      }
    }
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // Nothing useful to do: we are already reporting the error that made us close it.
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    closeQuietly(channel);
  }
}
