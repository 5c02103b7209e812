package org.mimtf.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class JsonTest {
  @Test
  void writesOrderedObjectsAndNonFiniteAsNull() {
    String line = Json.obj().put("step", 3).put("loss", 0.25).put("name", "a\"b").put("bad", Double.NaN)
        .put("list", List.of(1, 2)).toString();
    assertEquals("{\"step\":3,\"loss\":0.25,\"name\":\"a\\\"b\",\"bad\":null,\"list\":[1,2]}", line);
  }

  @Test
  void numberReadsBackWhatObjWrote() {
    String line = Json.obj().put("step", 120).put("loss", -1.5e-7).put("token_acc", 0.375).put("skip", Double.NaN)
        .toString();
    assertEquals(120.0, Json.number(line, "step"));
    assertEquals(-1.5e-7, Json.number(line, "loss"));
    assertEquals(0.375, Json.number(line, "token_acc"));
    // a key that is only a suffix of another key is not found by accident
    assertNull(Json.number(line, "acc"));
    assertNull(Json.number(line, "skip"));
    assertNull(Json.number(line, "missing"));
  }
}
