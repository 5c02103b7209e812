package org.mimtf.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.util.UserException;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

class CheckpointIndexTest {
  @TempDir Path dir;

  @Test
  void listsEveryVariableOfACheckpointSpanningSeveralBlocks() {
    // 150 variables with 3 KB names that differ from the first characters on (so prefix
    // compression cannot shrink them) overflow TF's 256 KB table block: the index block then has
    // more than one entry. The common "encoder/" prefix exercises prefix compression.
    List<CheckpointIndex.Entry> expected = new ArrayList<>();
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      Ops enc = tf.withSubScope("encoder");
      for (int i = 0; i < 150; i++) {
        String name = String.format("v%03d_", i) + "x".repeat(3000);
        enc.withName(name).variable(tf.zeros(tf.constant(new int[] {i % 5 + 1, 2}),
            TFloat32.class));
        expected.add(new CheckpointIndex.Entry("encoder/" + name, "DT_FLOAT", List.of((long) (i % 5 + 1), 2L)));
      }
      tf.withName("step").variable(tf.constant(7L));
      expected.add(new CheckpointIndex.Entry("step", "DT_INT64", List.of()));
      s.initialize();
      s.save(dir.resolve("model-1").toString());
    }
    List<CheckpointIndex.Entry> entries = CheckpointIndex.read(dir.resolve("model-1.index"));
    assertEquals(expected.size(), entries.size());
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.get(i), entries.get(i), "entry " + i);
    }
    assertEquals("(2, 2)", entries.get(1).shapeString());
  }

  @Test
  void rejectsAFileThatIsNoIndex() throws IOException {
    Path bogus = Files.write(dir.resolve("x.index"), new byte[64]);
    UserException e = assertThrows(UserException.class, () -> CheckpointIndex.read(bogus));
    assertTrue(e.getMessage().startsWith(bogus + ": not a TF checkpoint index (table magic 0x0000000000000000"),
        e.getMessage());
    Path missing = dir.resolve("none.index");
    e = assertThrows(UserException.class, () -> CheckpointIndex.read(missing));
    assertTrue(e.getMessage().startsWith(missing + ": no such file"), e.getMessage());
  }
}
