package org.mimtf.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.data.BadInputException;

class SafetensorsTest {
  @TempDir Path tmp;

  @Test
  void writeThenReadGivesTheSameTensorsAndMetadata() throws IOException {
    Map<String, TensorData> t = new LinkedHashMap<>();
    t.put("a.weight", new TensorData(new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, -6.5f}));
    t.put("b", new TensorData(new long[] {}, new float[] {42}));
    t.put("c.bias", new TensorData(new long[] {1, 1, 4}, new float[] {0, Float.MIN_VALUE, -0f, 1e30f}));
    Path f = tmp.resolve("w.safetensors");
    Safetensors.write(f, t, Map.of("format", "pt"));
    Safetensors.Contents c = Safetensors.read(f);
    assertEquals(t, c.tensors());
    assertEquals(Map.of("format", "pt"), c.metadata());
    byte[] all = Files.readAllBytes(f);
    long headerLen = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, headerLen % 8, "header padded to 8 bytes");
    assertEquals(8 + headerLen + 4 * (6 + 1 + 4), all.length);
    String header = new String(all, 8, (int) headerLen, StandardCharsets.UTF_8);
    assertTrue(header.contains("\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"), header);
  }

  @Test
  void readsTheFixtureWrittenByPython() {
    Safetensors.Contents c = Safetensors.read(Path.of("test-data/torch-vit/beit.safetensors"));
    assertEquals("pt", c.metadata().get("format"));
    TensorData idx = c.tensors().get("blocks.0.attn.relative_position_index");
    assertEquals("[17, 17]", idx.shapeString());
    assertEquals((2 * 4 - 1) * (2 * 4 - 1) + 3 - 1, (int) idx.data()[0], "I64 index read: CLS->CLS = R-1");
  }

  @Test
  void halfAndBfloat16Decode() {
    assertEquals(1f, Safetensors.halfToFloat((short) 0x3c00));
    assertEquals(-2f, Safetensors.halfToFloat((short) 0xc000));
    assertEquals(65504f, Safetensors.halfToFloat((short) 0x7bff));
    assertEquals(0x1p-24f, Safetensors.halfToFloat((short) 0x0001));
    assertTrue(Float.isInfinite(Safetensors.halfToFloat((short) 0x7c00)));
  }

  @Test
  void truncatedFileNamesTheFileAndTheTensor() throws IOException {
    Path f = tmp.resolve("w.safetensors");
    Map<String, TensorData> t = new LinkedHashMap<>();
    t.put("x", TensorData.zeros(4, 4));
    Safetensors.write(f, t, Map.of());
    byte[] all = Files.readAllBytes(f);
    Path cut = tmp.resolve("cut.safetensors");
    Files.write(cut, Arrays.copyOf(all, all.length - 10));
    BadInputException e = assertThrows(BadInputException.class, () -> StateDicts.read(cut, null));
    assertTrue(e.getMessage().startsWith(cut + ": truncated: tensor x ends at byte 64"), e.getMessage());
    Path headerCut = tmp.resolve("head.safetensors");
    Files.write(headerCut, Arrays.copyOf(all, 20));
    e = assertThrows(BadInputException.class, () -> StateDicts.read(headerCut, null));
    assertTrue(e.getMessage().startsWith(headerCut + ": not a safetensors file (or truncated)"), e.getMessage());
  }

  @Test
  void otherFilesAreRefusedByName() throws IOException {
    Path text = tmp.resolve("notes.safetensors");
    Files.writeString(text, "these are not weights, just a text file of some length");
    BadInputException e = assertThrows(BadInputException.class, () -> StateDicts.read(text, null));
    assertTrue(e.getMessage().startsWith(text + ": not a safetensors file"), e.getMessage());
    Path zip = tmp.resolve("broken.pth");
    byte[] pth = Files.readAllBytes(Path.of("test-data/torch-vit/vit.pth"));
    Files.write(zip, Arrays.copyOf(pth, pth.length / 2));
    e = assertThrows(BadInputException.class, () -> StateDicts.read(zip, null));
    assertTrue(e.getMessage().startsWith(zip + ": starts like a zip but cannot be opened as one (truncated?"),
        e.getMessage());
    Path none = tmp.resolve("missing.pth");
    e = assertThrows(BadInputException.class, () -> StateDicts.read(none, null));
    assertEquals(none + ": no such file", e.getMessage());
  }
}
