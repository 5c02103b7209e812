package org.mimtf.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mimtf.nn.GraphTesting;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

class CheckpointsTest {
  @TempDir Path dir;

  @Test
  void roundTripRestoresValuesAndKeepsTheLastK() throws Exception {
    Checkpoints c = new Checkpoints(dir.resolve("ckpt"), 2);
    try (Graph g = new Graph()) {
      Ops tf = Ops.create(g);
      Variable<TFloat32> w = tf.withSubScope("enc").withName("w").variable(tf.constant(new float[] {1, 2, 3}));
      var set = tf.assign(w, tf.math.mul(tf.identity(w), tf.constant(10f)));
      try (Session s = new Session(g)) {
        s.initialize();
        c.save(s, 1);
        s.runner().addTarget(set).run(); // 10, 20, 30
        c.save(s, 2);
        s.runner().addTarget(set).run(); // 100, 200, 300
        c.save(s, 3);
        assertEquals("ckpt-3", c.latest().orElseThrow().getFileName().toString());
        assertFalse(Files.exists(dir.resolve("ckpt/ckpt-1.index")), "only the last 2 are kept");
        assertTrue(Files.exists(dir.resolve("ckpt/ckpt-2.index")));
        String state = Files.readString(dir.resolve("ckpt/checkpoint"));
        assertEquals("model_checkpoint_path: \"ckpt-3\"\nall_model_checkpoint_paths: \"ckpt-2\"\n"
            + "all_model_checkpoint_paths: \"ckpt-3\"\n", state, "TF CheckpointState text format");
      }
      try (Session s2 = new Session(g)) {
        s2.restore(dir.resolve("ckpt/ckpt-2").toString());
        assertArrayEquals(new float[] {10, 20, 30}, GraphTesting.read(s2, tf.identity(w)));
      }
    }
  }

  @Test
  void aCheckpointWhoseIndexIsMissingIsNotReportedAsLatest() throws Exception {
    Checkpoints c = new Checkpoints(dir, 3);
    Files.writeString(dir.resolve("checkpoint"), "model_checkpoint_path: \"ckpt-9\"\n");
    assertTrue(c.latest().isEmpty(), "an interrupted save (no index yet) must not be picked up");
  }
}
