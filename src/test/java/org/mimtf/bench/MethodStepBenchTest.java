package org.mimtf.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.mimtf.config.RecipeLoader;
import org.mimtf.config.proto.Recipe;
import org.mimtf.util.Json;

class MethodStepBenchTest {
  @Test
  @SuppressWarnings("unchecked")
  void profileSplitsTracedKernelTimeByOpTypeAndPass() {
    // ConMIM's small recipe needs no tokenizer or teacher export; a batch of 4 keeps it quick.
    Recipe r = RecipeLoader.load(Path.of("graphs/conmim_fmnist_small.pbtxt"),
        List.of("training.batch_size=4", "data.workers=1"));
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    Json.Obj j = MethodStepBench.run(r, 1, 1, 1, new PrintStream(buf, true, StandardCharsets.UTF_8));
    Map<String, Object> m = j.asMap();
    assertEquals(4, m.get("batch"));
    Map<String, Object> p = ((Json.Obj) m.get("profile")).asMap();
    double total = (Double) p.get("op_ms_per_step");
    assertTrue(total > 0, "traced op time " + total);
    Map<String, Object> types = ((Json.Obj) p.get("op_types_ms")).asMap();
    Map<String, Object> passes = ((Json.Obj) p.get("passes_ms")).asMap();
    // every traced node is counted once by type and once by pass: both tables sum to the total
    double byType = types.values().stream().mapToDouble(v -> (Double) v).sum();
    double byPass = passes.values().stream().mapToDouble(v -> (Double) v).sum();
    assertEquals(total, byType, 1e-6 * total);
    assertEquals(total, byPass, 1e-6 * total);
    assertTrue((Double) passes.get("backward") > 0, "a training step has a backward pass: " + passes);
    assertTrue(types.keySet().stream().anyMatch(t -> t.contains("MatMul")), "matrix products traced: " + types);
    String printed = buf.toString(StandardCharsets.UTF_8);
    assertTrue(printed.contains("slowest nodes"), printed);
  }
}
