package org.mimtf.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code odd.pth} (make_fixture.py odd): tensors whose storages a reader can get wrong — half and
 * bfloat16, a transposed view (strides), a slice with a storage offset sharing the storage, int64 and
 * float64 — each equal to the float32 contiguous copy PyTorch saved beside it.
 */
class TorchPickleTest {
  @Test
  void stridedOffsetAndNarrowTensorsMatchTheirContiguousCopies() {
    StateDicts.StateDict sd = StateDicts.read(Path.of("test-data/torch-vit/odd.pth"), null);
    assertEquals("state_dict", sd.wrapper());
    assertEquals(List.of("student."), sd.strippedPrefixes());
    Map<String, TensorData> t = sd.tensors();
    for (String k : List.of("half", "bf16", "transposed", "sliced", "index", "f64")) {
      TensorData got = t.get(k);
      TensorData want = t.get("expect." + k);
      assertArrayEquals(want.shape(), got.shape(), k);
      assertEquals(0f, got.maxAbsDiff(want), k);
    }
    assertArrayEquals(new long[] {6, 4}, t.get("transposed").shape());
    assertEquals(11f, t.get("index").data()[11]);
    assertTrue(t.get("sliced").maxAbs() > 0);
  }

  @Test
  void theFixtureCheckpointKeepsItsTrainingStateOutOfTheWay() {
    Object root = TorchPickle.read(Path.of("test-data/torch-vit/vit.pth"));
    Map<?, ?> top = (Map<?, ?>) root;
    assertEquals(7, ((Number) top.get("epoch")).intValue());
    assertTrue(top.get("args") instanceof TorchPickle.Opaque, String.valueOf(top.get("args")));
    assertEquals("vit_tiny", ((TorchPickle.Opaque) top.get("args")).get("model"));
  }
}
