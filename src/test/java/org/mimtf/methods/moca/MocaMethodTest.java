package org.mimtf.methods.moca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.mimtf.config.proto.Recipe;
import org.mimtf.nn.Compute;
import org.mimtf.nn.Param;
import org.mimtf.nn.ParamStore;
import org.mimtf.testing.TinyRecipes;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;

/**
 * MOCA's graph on real (tiny-recipe) batches: masking rounds and partial decoding, the order of one
 * step (EMA before the teacher forward, targets before the queue update), the FIFO queue, the μ
 * statistics, where gradients go, and the generators' constant learning rate.
 */
class MocaMethodTest {
  static final int B = 16;
  static final int N = 49;

  static Recipe tiny(String... extra) {
    return TinyRecipes.moca(Path.of("/tmp/unused"), 3, extra);
  }

  static Set<Integer> row(float[] idx, int r, int width) {
    Set<Integer> s = new HashSet<>();
    for (int j = 0; j < width; j++) {
      s.add((int) idx[r * width + j]);
    }
    assertEquals(width, s.size(), "indices of a row are distinct");
    return s;
  }

  @Test
  void roundsEncodeDisjointVisibleTokensAndDecodeTheConfiguredCount() {
    try (MocaHarness h = new MocaHarness(tiny(), 1)) {
      int[] counts = h.method.tokenCounts();
      assertArrayEquals(new int[] {22, 12, 10}, counts, "keep1, keep2, P for N = 49 (the recipe's comment)");
      MocaMethod.TowerParts t = h.method.lastTower();
      // The encoder sees CLS + the visible tokens only; the decoder keep + P slots (static shapes).
      assertEquals(23, t.round1().encoder().normed().shape().get(1));
      assertEquals(13, t.round2().encoder().normed().shape().get(1));
      assertEquals(32, t.round1().decoded().shape().get(1));
      assertEquals(22, t.round2().decoded().shape().get(1));
      List<float[]> v = h.run(0, 0, 1, null, List.of(t.round1().visible(), t.round2().visible(),
          t.round1().decodedIdx(), t.round2().decodedIdx(), t.round1().targets(), t.round2().targets()));
      int k = h.recipe.getMoca().getNumWords();
      assertEquals(2 * B * 32 * k, v.get(4).length, "round-1 targets: every decoded token of the 2B rows");
      assertEquals(2 * B * 22 * k, v.get(5).length, "round-2 targets");
      float[] order1 = h.batches.get(0).ints("order1").length > 0 ? toFloat(h.batches.get(0).ints("order1")) : null;
      for (int r = 0; r < 2 * B; r++) {
        Set<Integer> e1 = row(v.get(0), r, 22);
        Set<Integer> e2 = row(v.get(1), r, 12);
        Set<Integer> d1 = row(v.get(2), r, 32);
        Set<Integer> d2 = row(v.get(3), r, 22);
        Set<Integer> inter = new HashSet<>(e1);
        inter.retainAll(e2);
        assertTrue(inter.isEmpty(), "row " + r + ": the rounds' visible tokens are disjoint");
        Set<Integer> maskedEither = new HashSet<>();
        for (int i = 0; i < N; i++) {
          if (!e1.contains(i) || !e2.contains(i)) {
            maskedEither.add(i);
          }
        }
        assertEquals(N, maskedEither.size(), "together the two masks cover every token");
        Set<Integer> p1 = new HashSet<>(d1);
        p1.removeAll(e1);
        Set<Integer> p2 = new HashSet<>(d2);
        p2.removeAll(e2);
        assertEquals(10, p1.size(), "round 1 decodes exactly P masked tokens");
        assertEquals(p1, p2, "both rounds predict the same masked tokens");
        assertTrue(d1.containsAll(e1) && d2.containsAll(e2), "and every visible token");
        // The student's view-1 rows follow order1 copy 0, its view-2 rows copy 1.
        int b = r % B;
        int copy = r / B;
        for (int j = 0; j < 22; j++) {
          assertEquals(order1[(b * 2 + copy) * N + j], v.get(0)[r * 22 + j]);
        }
      }
    }
  }

  static float[] toFloat(int[] a) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = a[i];
    }
    return f;
  }

  @Test
  void theEmaUpdateComesBeforeTheTeacherForwardOncePerStep() {
    try (MocaHarness h = new MocaHarness(tiny(), 2)) {
      Param s0 = h.sg.params().get("encoder/blocks/1/attn/qkv/kernel");
      Param t0 = h.sg.params().get("teacher/encoder/blocks/1/attn/qkv/kernel");
      assertArrayEquals(h.read(s0.read()), h.read(t0.read()), "the teacher starts as a copy of the student");
      h.step(0, 1e-3, 0.0);
      float[] student1 = h.read(s0.read());
      // A teacher forward on plain reads of the teacher variables, for reference.
      Ops tf = Ops.create(h.sg.graph());
      Operand<TFloat32> images = tf.concat(List.of(constant(tf, h, "view1", 1), constant(tf, h, "view2", 1)),
          tf.constant(0));
      Operand<TFloat32> plain = h.method.teacherPlain().forward(tf, Compute.fp32(),
          images, org.mimtf.nn.VisionTransformer.Inputs.none()).patchTokens(tf);
      float[] before = h.read(plain);
      // Step 1 with momentum 0: the EMA copies the student of step 0's update, then the teacher runs.
      float[] during = h.run(1, 1e-3, 0.0, true, List.of(h.method.lastTower().teacherFeatures())).get(0);
      float[] teacher1 = h.read(t0.read());
      assertArrayEquals(student1, teacher1, 1e-6f, "teacher = the student before this step's optimizer update");
      assertFalse(java.util.Arrays.equals(student1, h.read(s0.read())), "the student moved after the EMA read it");
      float[] after = h.read(plain);
      assertArrayEquals(after, during, 1e-5f, "the step's teacher forward used the updated teacher");
      assertTrue(maxDiff(before, during) > 1e-4, "(and that differs from the teacher before the step)");
    }
  }

  @Test
  void underGradientAccumulationTheEmaRunsOncePerOptimizerStep() {
    Recipe r = tiny();
    try (MocaHarness h = new MocaHarness(r, 2, 2, List.of())) {
      Param s = h.sg.params().get("encoder/norm/gamma");
      Param t = h.sg.params().get("teacher/encoder/norm/gamma");
      // A first step with momentum 1 moves the student only.
      h.run(0, 1e-2, 1.0, false, List.of());
      h.run(0, 1e-2, 1.0, true, List.of());
      float[] st = h.read(s.read());
      float[] te = h.read(t.read());
      assertTrue(maxDiff(st, te) > 1e-4, "student and teacher differ after one update");
      // Step 1: two micro-batches, momentum 0.5, one EMA: t ← (t + s) / 2.
      h.run(1, 1e-2, 0.5, false, List.of());
      h.run(1, 1e-2, 0.5, true, List.of());
      float[] got = h.read(t.read());
      for (int i = 0; i < got.length; i++) {
        assertEquals(0.5 * te[i] + 0.5 * st[i], got[i], 1e-6, "one EMA update per optimizer step");
      }
    }
  }

  @Test
  void theQueueIsFifoWithTheConfiguredCountOfTeacherWords() {
    try (MocaHarness h = new MocaHarness(tiny("moca.num_words=8", "moca.num_new_words=4"), 3)) {
      OnlineCodebook cb = h.method.codebook();
      String words = cb.wordsParam().name();
      float[] w0 = h.variable(words);
      int d = 32;
      float[][] snapshots = new float[4][];
      snapshots[0] = w0;
      for (int step = 0; step < 3; step++) {
        MocaMethod.TowerParts t = h.method.lastTower();
        List<float[]> f = h.run(step, 1e-3, 0.99, true, List.of(t.candidates().words(), t.assignment().unit()));
        snapshots[step + 1] = h.variable(words);
        int start = (step * 4) % 8;
        for (int row = 0; row < 8; row++) {
          boolean written = row >= start && row < start + 4;
          float[] now = java.util.Arrays.copyOfRange(snapshots[step + 1], row * d, row * d + d);
          float[] old = java.util.Arrays.copyOfRange(snapshots[step], row * d, row * d + d);
          if (written) {
            assertArrayEquals(java.util.Arrays.copyOfRange(f.get(0), (row - start) * d, (row - start) * d + d), now,
                1e-6f, "step " + step + " writes its words at rows " + start + ".." + (start + 3));
            assertEquals(1.0, norm(now), 1e-5, "words are unit vectors");
            assertTrue(isInteriorTeacherToken(now, f.get(1), d, h.method.interior()),
                "a new word is an interior teacher token of this batch");
          } else {
            assertArrayEquals(old, now, 0f, "step " + step + " leaves row " + row + " alone");
          }
        }
        assertEquals((step + 1) * 4 % 8, (int) h.read(cb.ptr())[0], "ptr advances by K_new modulo K");
      }
      assertEquals(12, (int) h.read(cb.written())[0]);
    }
  }

  static boolean isInteriorTeacherToken(float[] word, float[] unit, int d, int[] interior) {
    int tokens = unit.length / d;
    Set<Integer> in = new HashSet<>();
    for (int i : interior) {
      in.add(i);
    }
    for (int t = 0; t < tokens; t++) {
      double dot = 0;
      for (int j = 0; j < d; j++) {
        dot += word[j] * unit[t * d + j];
      }
      if (dot > 1 - 1e-5) {
        return in.contains(t % N);
      }
    }
    return false;
  }

  @Test
  void theTemperatureUsesMuPrevAndMuTakesTwoUpdatesPerStep() {
    try (MocaHarness h = new MocaHarness(tiny(), 2)) {
      OnlineCodebook cb = h.method.codebook();
      MocaMethod.TowerParts t = h.method.lastTower();
      float mu = h.read(cb.mu())[0];
      assertEquals(0.5f, mu, "mu_init");
      for (int step = 0; step < 2; step++) {
        float muPrev = h.read(cb.muPrev())[0];
        mu = h.read(cb.mu())[0];
        List<float[]> f = h.run(step, 1e-3, 0.99, true, List.of(t.assignment().muBatch(), t.assignment().cos(),
            t.assignment().codes()));
        float[] b = f.get(0);
        // q_T of a few tokens = softmax(10 / μ_prev · cos)
        int k = h.recipe.getMoca().getNumWords();
        for (int token : new int[] {0, 17, 2 * B * N - 1}) {
          double z = 0;
          for (int j = 0; j < k; j++) {
            z += Math.exp(f.get(1)[token * k + j] * 10.0 / muPrev);
          }
          for (int j = 0; j < k; j += 7) {
            assertEquals(Math.exp(f.get(1)[token * k + j] * 10.0 / muPrev) / z, f.get(2)[token * k + j], 1e-5);
          }
        }
        double expected = 0.99 * (0.99 * mu + 0.01 * b[0]) + 0.01 * b[1];
        assertEquals(expected, h.read(cb.mu())[0], 1e-6, "μ ← m·μ + (1−m)·μ_batch, view 1 then view 2");
        assertEquals(h.read(cb.mu())[0], h.read(cb.muPrev())[0], "μ_prev ← μ at the end of the step");
      }
    }
  }

  @Test
  void noGradientReachesTheTeacherOrTheCodebook() {
    try (MocaHarness h = new MocaHarness(tiny(), 1)) {
      ParamStore ps = h.sg.params();
      for (Param p : ps.all()) {
        boolean frozen = p.name().startsWith("teacher/") || p.name().startsWith("codebook/");
        assertEquals(!frozen, p.trainable(), p.name());
      }
      assertTrue(ps.trainable().stream().anyMatch(p -> p.name().startsWith("encoder/")));
      // Symbolically: the loss has no gradient path to the teacher's reads (gated or plain) or the codebook.
      Ops tf = Ops.create(h.sg.graph());
      MocaMethod.Shared sh = h.method.shared();
      List<Operand<?>> xs = new ArrayList<>();
      xs.add(ps.get("encoder/norm/gamma").read());
      xs.add(ps.get("teacher/encoder/norm/gamma").read());
      xs.add(h.method.codebook().wordsParam().read());
      xs.add(sh.muPrev());
      var g = tf.gradients(h.method.lastTower().loss(), List.of(xs.get(0)));
      assertNotNull(g.dy(0).op(), "the student is reached");
      for (int i = 1; i < xs.size(); i++) {
        assertTrue(noGradient(h, tf, xs.get(i)), "no gradient to " + xs.get(i).op().name());
      }
      // Functionally: a step with momentum 1 leaves the teacher exactly as it was.
      float[] teacher = h.variable("teacher/encoder/blocks/0/mlp/fc1/kernel");
      h.step(0, 1e-2, 1.0);
      assertArrayEquals(teacher, h.variable("teacher/encoder/blocks/0/mlp/fc1/kernel"), 0f);
    }
  }

  /** TF finds no path from the loss to {@code x}, or the gradient it builds is absent or zero. */
  private static boolean noGradient(MocaHarness h, Ops tf, Operand<?> x) {
    try {
      return isNullOrZero(h, tf.gradients(h.method.lastTower().loss(), List.of(x)).dy(0));
    } catch (org.tensorflow.exceptions.TFInvalidArgumentException e) {
      return e.getMessage().contains("unreachable");
    }
  }

  private static boolean isNullOrZero(MocaHarness h, org.tensorflow.Output<?> dy) {
    if (dy == null || dy.op() == null) {
      return true;
    }
    float[] v;
    try {
      v = h.run(0, 0, 1, null, List.of(dy)).get(0);
    } catch (IllegalStateException e) {
      // TF's C API gives a null output (no op behind it) for a gradient that StopGradient cuts off.
      return true;
    }
    for (float x : v) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  @Test
  void theGeneratorsTrainAtTheirOwnConstantLearningRate() {
    try (MocaHarness h = new MocaHarness(tiny(), 1)) {
      ParamStore ps = h.sg.params();
      Param gen = ps.get("heads/generator_loc/fc1/kernel");
      Param enc = ps.get("encoder/blocks/0/mlp/fc1/kernel");
      Param dec = ps.get("heads/decoder/embed/kernel");
      assertEquals(new ParamStore.FixedHyper(1e-4f, 0.05f), ps.fixedHyper(gen));
      assertNotNull(ps.fixedHyper(ps.get("heads/generator_img/bn/gamma")));
      assertNull(ps.fixedHyper(enc));
      assertNull(ps.fixedHyper(dec));
      float[] g0 = h.read(gen.read());
      float[] e0 = h.read(enc.read());
      float[] d0 = h.read(dec.read());
      h.step(0, 0.0, 1.0); // the schedule's learning rate is 0 at step 0
      assertTrue(maxDiff(g0, h.read(gen.read())) > 1e-5, "the generator moves at its constant 1e-4");
      assertArrayEquals(e0, h.read(enc.read()), 0f, "the encoder follows the schedule (0)");
      assertArrayEquals(d0, h.read(dec.read()), 0f, "so does the decoder");
    }
  }

  static Operand<TFloat32> constant(Ops tf, MocaHarness h, String field, int batch) {
    float[] a = h.batches.get(batch).floats(field);
    return tf.reshape(tf.constant(a), tf.constant(new int[] {B, 28, 28, 1}));
  }

  static double maxDiff(float[] a, float[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  static double norm(float[] a) {
    double s = 0;
    for (float x : a) {
      s += x * x;
    }
    return Math.sqrt(s);
  }
}
