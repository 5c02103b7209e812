package org.mimtf.methods.moca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.MocaConfig;
import org.mimtf.api.Schedule;
import org.mimtf.methods.MethodRegistry;

/** {@code moca.prefill_codebook}, {@code moca.teacher_momentum_end} and {@code moca.export_encoder}. */
class MocaPrefillTest {
  @Test
  void prefillWritesKDistinctInteriorTeacherTokensAtTheFirstStepOnly() {
    int d = 32;
    int k = 16;
    try (MocaHarness h = new MocaHarness(MocaMethodTest.tiny("moca.num_words=16", "moca.num_new_words=4",
        "moca.prefill_codebook=true"), 2)) {
      OnlineCodebook cb = h.method.codebook();
      String words = cb.wordsParam().name();
      MocaMethod.TowerParts t = h.method.lastTower();
      List<float[]> f = h.run(0, 1e-3, 0.99, true, List.of(t.candidates().words(), t.assignment().unit()));
      float[] after = h.variable(words);
      Set<Integer> tokens = new HashSet<>();
      for (int row = 0; row < k; row++) {
        float[] w = Arrays.copyOfRange(after, row * d, row * d + d);
        assertEquals(1.0, MocaMethodTest.norm(w), 1e-5, "row " + row + " is a unit vector");
        if (row < 4) { // this step's enqueue overwrites rows 0..3 after the fill
          assertArrayEquals(Arrays.copyOfRange(f.get(0), row * d, row * d + d), w, 1e-6f);
        }
        assertTrue(MocaMethodTest.isInteriorTeacherToken(w, f.get(1), d, h.method.interior()),
            "row " + row + " is an interior teacher token of the first batch");
        tokens.add(Arrays.hashCode(w));
      }
      assertEquals(k, tokens.size(), "the filled words are distinct tokens");
      assertEquals(k + 4, (int) h.read(cb.written())[0], "the fill counts K words, then the enqueue K_new");
      assertEquals(4, (int) h.read(cb.ptr())[0]);
      // Second step: only the FIFO enqueue, rows 4..7.
      h.run(1, 1e-3, 0.99, true, List.of());
      float[] second = h.variable(words);
      assertArrayEquals(Arrays.copyOfRange(after, 0, 4 * d), Arrays.copyOfRange(second, 0, 4 * d), 0f);
      assertArrayEquals(Arrays.copyOfRange(after, 8 * d, k * d), Arrays.copyOfRange(second, 8 * d, k * d), 0f);
      assertEquals(k + 8, (int) h.read(cb.written())[0]);
    }
  }

  @Test
  void teacherMomentumEndsAtTheConfiguredValueAndTheExportCanHoldTheStudent() {
    var r = MocaMethodTest.tiny("moca.teacher_momentum=0.99", "moca.teacher_momentum_end=0.995");
    MocaMethod m = new MocaMethod(r);
    Schedule s = m.scalarSchedules(300).get(MocaMethod.MOMENTUM);
    assertEquals(0.99, s.at(0), 1e-7); // float recipe values
    assertEquals(0.995, s.at(300), 1e-7);
    assertEquals("teacher/encoder", MethodRegistry.encoderSpec(r).scope());
    var student = MocaMethodTest.tiny("moca.export_encoder=STUDENT");
    assertEquals(MocaConfig.ExportEncoder.STUDENT, student.getMoca().getExportEncoder());
    assertEquals("encoder", MethodRegistry.encoderSpec(student).scope());
    assertEquals("encoder", new MocaMethod(student).encoder().scope());
  }
}
