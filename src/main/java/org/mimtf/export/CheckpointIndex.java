package org.mimtf.export;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.mimtf.util.UserException;
import org.tensorflow.proto.BundleEntryProto;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Lists the tensors of a TF V2 checkpoint (a SavedModel's {@code variables/variables.index}, or the
 * {@code <prefix>.index} of a training checkpoint) by reading the index file itself: no TF runtime,
 * no graph, no data file.
 *
 * <p>Why read the file: TF Java has no {@code tf.train.list_variables}, and loading a SavedModel to
 * learn its variable names would start the whole native runtime. The index is TF's immutable table
 * format (the LevelDB SSTable layout, {@code tensorflow/core/lib/io/format.cc}): a 48-byte footer with
 * the handles of a meta-index and an index block, the index block mapping keys to data blocks, each
 * block a run of prefix-compressed entries followed by a restart array, and after each block one
 * byte of compression type and a CRC. The bundle writer stores blocks uncompressed; key "" holds the
 * {@code BundleHeaderProto}, every other key is a tensor name mapped to a {@code BundleEntryProto}
 * (dtype, shape, shard, offset).
 */
public final class CheckpointIndex {
  /** {@code kTableMagicNumber} of TF's table format. */
  private static final long MAGIC = 0xdb4775248b80fb57L;
  private static final int FOOTER_BYTES = 48;
  private static final int BLOCK_TRAILER_BYTES = 5;

  private CheckpointIndex() {}

  /**
   * One tensor of the checkpoint.
   *
   * @param name the checkpoint key (the variable's op name for TF1-style checkpoints)
   * @param dtype TF's enum name, e.g. {@code DT_FLOAT}
   * @param dims the shape
   */
  public record Entry(String name, String dtype, List<Long> dims) {
    public Entry {
      dims = List.copyOf(dims);
    }

    /** The shape as {@code (3, 2)}, as saved_model_cli prints shapes. */
    public String shapeString() {
      return SavedModelInfo.TensorSpec.tuple(dims);
    }
  }

  /**
   * Reads the entries of an index file, in key order.
   *
   * @throws UserException when the file is missing or is not a checkpoint index
   */
  public static List<Entry> read(Path indexFile) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(indexFile);
    } catch (NoSuchFileException e) {
      throw new UserException(indexFile + ": no such file; expected a TF checkpoint index (<prefix>.index)");
    } catch (IOException e) {
      throw new UserException(indexFile + ": cannot read: " + e.getMessage(), e);
    }
    try {
      return parse(bytes);
    } catch (IllegalArgumentException | IndexOutOfBoundsException | java.nio.BufferUnderflowException e) {
      throw new UserException(indexFile + ": not a TF checkpoint index (" + e.getMessage() + ")", e);
    }
  }

  static List<Entry> parse(byte[] bytes) {
    if (bytes.length < FOOTER_BYTES) {
      throw new IllegalArgumentException(bytes.length + " bytes, shorter than the 48-byte table footer");
    }
    long magic = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(bytes.length - 8);
    if (magic != MAGIC) {
      throw new IllegalArgumentException(String.format("table magic 0x%016x, expected 0x%016x", magic, MAGIC));
    }
    Reader f = new Reader(bytes, bytes.length - FOOTER_BYTES);
    f.varint(); // meta-index block offset
    f.varint(); // meta-index block size
    long indexOffset = f.varint();
    long indexSize = f.varint();
    List<Entry> out = new ArrayList<>();
    for (byte[][] kv : block(bytes, indexOffset, indexSize)) {
      Reader h = new Reader(kv[1], 0);
      long offset = h.varint();
      long size = h.varint();
      for (byte[][] entry : block(bytes, offset, size)) {
        if (entry[0].length == 0) {
          continue; // the BundleHeaderProto
        }
        BundleEntryProto p;
        try {
          p = BundleEntryProto.parseFrom(entry[1]);
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalArgumentException("bad entry for key '" + utf8(entry[0]) + "': " + e.getMessage(), e);
        }
        out.add(new Entry(utf8(entry[0]), dtypeName(p.getDtype(), p.getDtypeValue()), dims(p.getShape())));
      }
    }
    return out;
  }

  /** The key/value pairs of one block (prefix-compressed keys expanded). */
  private static List<byte[][]> block(byte[] file, long offset, long size) {
    if (offset < 0 || size < 4 || offset + size + BLOCK_TRAILER_BYTES > file.length) {
      throw new IllegalArgumentException("block [" + offset + ", +" + size + ") outside the file of "
          + file.length + " bytes");
    }
    int start = (int) offset;
    int end = (int) (offset + size);
    int compression = file[end];
    if (compression != 0) {
      throw new IllegalArgumentException("block at " + offset + " is compressed (type " + compression
          + "); only uncompressed tables are supported");
    }
    ByteBuffer bb = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    int numRestarts = bb.getInt(end - 4);
    long restartsStart = end - 4 - 4L * numRestarts;
    if (numRestarts < 0 || restartsStart < start) {
      throw new IllegalArgumentException("block at " + offset + " has a bad restart count " + numRestarts);
    }
    List<byte[][]> out = new ArrayList<>();
    Reader r = new Reader(file, start);
    byte[] key = new byte[0];
    while (r.pos < restartsStart) {
      int shared = (int) r.varint();
      int nonShared = (int) r.varint();
      int valueLength = (int) r.varint();
      if (shared > key.length || r.pos + nonShared + valueLength > restartsStart) {
        throw new IllegalArgumentException("corrupt entry at byte " + r.pos);
      }
      byte[] k = new byte[shared + nonShared];
      System.arraycopy(key, 0, k, 0, shared);
      System.arraycopy(file, r.pos, k, shared, nonShared);
      r.pos += nonShared;
      byte[] v = new byte[valueLength];
      System.arraycopy(file, r.pos, v, 0, valueLength);
      r.pos += valueLength;
      out.add(new byte[][] {k, v});
      key = k;
    }
    return out;
  }

  static String dtypeName(DataType t, int value) {
    return t == DataType.UNRECOGNIZED ? "DT_UNKNOWN_" + value : t.name();
  }

  static List<Long> dims(TensorShapeProto shape) {
    List<Long> dims = new ArrayList<>(shape.getDimCount());
    for (TensorShapeProto.Dim dim : shape.getDimList()) {
      dims.add(dim.getSize());
    }
    return dims;
  }

  private static String utf8(byte[] b) {
    return new String(b, java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Base-128 varints (little-endian groups of 7 bits) from a byte array. */
  private static final class Reader {
    final byte[] b;
    int pos;

    Reader(byte[] b, int pos) {
      this.b = b;
      this.pos = pos;
    }

    long varint() {
      long result = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= b.length) {
          throw new IllegalArgumentException("varint runs past the end at byte " + pos);
        }
        int x = b[pos++];
        result |= (long) (x & 0x7f) << shift;
        if ((x & 0x80) == 0) {
          return result;
        }
      }
      throw new IllegalArgumentException("varint longer than 10 bytes at byte " + pos);
    }
  }
}
