package org.mimtf.weights;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import org.mimtf.data.BadInputException;

/**
 * The {@code safetensors} format of Hugging Face, in which timm and the Hub publish weights: an
 * 8-byte little-endian header length, a JSON header ({@code name → {dtype, shape, data_offsets}} plus
 * an optional {@code __metadata__} of strings), then the raw little-endian buffers. The JSON goes
 * through Gson, never by hand.
 *
 * <p>Reading accepts F32, F16, BF16 and F64 tensors (converted to float32) and the integer tensors a
 * state dict may carry (I64, I32, converted to float); writing writes F32 only, with buffers in
 * header order and the header padded with spaces to a multiple of 8, as the reference writer does.
 */
public final class Safetensors {
  private static final Gson GSON = new Gson();
  /** The reference implementation refuses headers above 100 MB; so do we (a guard against garbage). */
  private static final long MAX_HEADER = 100L << 20;

  private Safetensors() {}

  /** The tensors of a file, in header order, and its string metadata. */
  public record Contents(Map<String, TensorData> tensors, Map<String, String> metadata) {}

  public static Contents read(Path file) {
    String origin = file.toString();
    long size;
    try {
      size = Files.size(file);
    } catch (IOException e) {
      throw new BadInputException(origin, "cannot read: " + e.getMessage(), e);
    }
    if (size < 8) {
      throw new BadInputException(origin, "not a safetensors file: " + size + " bytes, shorter than the 8-byte "
          + "header length");
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, lenBuf, 0);
      long headerLen = lenBuf.getLong(0);
      if (headerLen <= 1 || headerLen > MAX_HEADER || headerLen > size - 8) {
        throw new BadInputException(origin, "not a safetensors file (or truncated): header length " + headerLen
            + " in a file of " + size + " bytes");
      }
      ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
      readFully(ch, hb, 8);
      String json = new String(hb.array(), StandardCharsets.UTF_8);
      JsonObject header;
      try {
        JsonElement e = JsonParser.parseString(json);
        if (!e.isJsonObject()) {
          throw new BadInputException(origin, "not a safetensors file: the header is not a JSON object");
        }
        header = e.getAsJsonObject();
      } catch (JsonParseException e) {
        throw new BadInputException(origin, "not a safetensors file: its header is not JSON (" + e.getMessage() + ")");
      }
      long dataStart = 8 + headerLen;
      long dataLen = size - dataStart;
      Map<String, TensorData> tensors = new LinkedHashMap<>();
      Map<String, String> meta = new LinkedHashMap<>();
      for (var entry : header.entrySet()) {
        String name = entry.getKey();
        if (name.equals("__metadata__")) {
          for (var m : entry.getValue().getAsJsonObject().entrySet()) {
            meta.put(m.getKey(), m.getValue().getAsString());
          }
          continue;
        }
        tensors.put(name, readTensor(ch, origin, name, entry.getValue(), dataStart, dataLen));
      }
      return new Contents(tensors, meta);
    } catch (IOException e) {
      throw new BadInputException(origin, "cannot read: " + e.getMessage(), e);
    } catch (IllegalStateException | UnsupportedOperationException | NullPointerException e) {
      throw new BadInputException(origin, "not a safetensors file: malformed header (" + e.getMessage() + ")");
    }
  }

  private static TensorData readTensor(FileChannel ch, String origin, String name, JsonElement spec, long dataStart,
      long dataLen) throws IOException {
    JsonObject o = spec.getAsJsonObject();
    String dtype = o.get("dtype").getAsString();
    JsonArray sh = o.getAsJsonArray("shape");
    long[] shape = new long[sh.size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = sh.get(i).getAsLong();
    }
    JsonArray off = o.getAsJsonArray("data_offsets");
    long begin = off.get(0).getAsLong();
    long end = off.get(1).getAsLong();
    int width = switch (dtype) {
      case "F32", "I32" -> 4;
      case "F16", "BF16" -> 2;
      case "F64", "I64" -> 8;
      default -> throw new BadInputException(origin, "tensor " + name + " has dtype " + dtype
          + "; supported: F32, F16, BF16, F64, I64, I32");
    };
    long n = TensorData.count(shape);
    if (end - begin != n * width || begin < 0) {
      throw new BadInputException(origin, "tensor " + name + ": data_offsets [" + begin + ", " + end + ") do not hold "
          + n + " values of " + dtype);
    }
    if (end > dataLen) {
      throw new BadInputException(origin, "truncated: tensor " + name + " ends at byte " + end + " of the data, the "
          + "file holds " + dataLen + " data bytes");
    }
    ByteBuffer b = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
    readFully(ch, b, dataStart + begin);
    b.flip();
    float[] v = new float[(int) n];
    for (int i = 0; i < v.length; i++) {
      v[i] = switch (dtype) {
        case "F32" -> b.getFloat();
        case "F64" -> (float) b.getDouble();
        case "I64" -> (float) b.getLong();
        case "I32" -> (float) b.getInt();
        case "BF16" -> Float.intBitsToFloat((b.getShort() & 0xffff) << 16);
        default -> halfToFloat(b.getShort());
      };
    }
    return new TensorData(shape, v);
  }

  /** IEEE 754 binary16 → float32 (Java 17 has no Float.float16ToFloat). */
  static float halfToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      float sub = mant * 0x1p-24f;
      return sign == 0 ? sub : -sub;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
    while (b.hasRemaining()) {
      int r = ch.read(b, pos);
      if (r < 0) {
        throw new IOException("unexpected end of file");
      }
      pos += r;
    }
  }

  /** Writes {@code tensors} as F32 (in iteration order) with {@code metadata} (may be empty). */
  public static void write(Path file, Map<String, TensorData> tensors, Map<String, String> metadata) {
    JsonObject header = new JsonObject();
    if (!metadata.isEmpty()) {
      JsonObject m = new JsonObject();
      metadata.forEach(m::addProperty);
      header.add("__metadata__", m);
    }
    long offset = 0;
    for (var e : tensors.entrySet()) {
      JsonObject t = new JsonObject();
      t.addProperty("dtype", "F32");
      JsonArray shape = new JsonArray();
      for (long d : e.getValue().shape()) {
        shape.add(d);
      }
      t.add("shape", shape);
      JsonArray off = new JsonArray();
      off.add(offset);
      offset += 4L * e.getValue().data().length;
      off.add(offset);
      t.add("data_offsets", off);
      header.add(e.getKey(), t);
    }
    byte[] json = GSON.toJson(header).getBytes(StandardCharsets.UTF_8);
    int pad = (8 - json.length % 8) % 8;
    try {
      if (file.toAbsolutePath().getParent() != null) {
        Files.createDirectories(file.toAbsolutePath().getParent());
      }
      try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length + pad);
        out.write(len.array());
        out.write(json);
        out.write(" ".repeat(pad).getBytes(StandardCharsets.US_ASCII));
        for (TensorData t : tensors.values()) {
          ByteBuffer b = ByteBuffer.allocate(4 * t.data().length).order(ByteOrder.LITTLE_ENDIAN);
          b.asFloatBuffer().put(t.data());
          out.write(b.array());
        }
      }
    } catch (IOException e) {
      throw new BadInputException(file.toString(), "cannot write: " + e.getMessage(), e);
    }
  }
}
