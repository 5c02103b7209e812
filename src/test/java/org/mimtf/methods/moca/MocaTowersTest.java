package org.mimtf.methods.moca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Two towers on virtual CPU devices train MOCA like one device on the whole batch: the μ statistics
 * and the queue's new words come from the global batch (the same words whatever the tower count),
 * and the EMA, generators and state updates run once per step.
 */
class MocaTowersTest {
  static List<float[]> train(List<String> devices, List<Double> losses) {
    try (MocaHarness h = new MocaHarness(MocaMethodTest.tiny("moca.num_words=16"), 2, 1, devices)) {
      for (int step = 0; step < 2; step++) {
        losses.add(h.step(step, 1e-3, 0.9).get("loss"));
      }
      // By name: with towers the graph is rebuilt by import, so the method's operands are not its ops.
      List<float[]> out = new ArrayList<>();
      for (String v : new String[] {"codebook/words", "codebook/mu", "codebook/mu_prev", "codebook/ptr",
          "teacher/encoder/blocks/0/attn/qkv/kernel", "heads/generator_img/bn/gamma"}) {
        out.add(h.variable(v));
      }
      return out;
    }
  }

  @Test
  void twoTowersGiveTheStateAndLossesOfOneDevice() {
    List<Double> one = new ArrayList<>();
    List<float[]> ref = train(List.of(), one);
    List<Double> two = new ArrayList<>();
    List<float[]> got = train(List.of("/device:CPU:0", "/device:CPU:1"), two);
    for (int i = 0; i < one.size(); i++) {
      assertEquals(one.get(i), two.get(i), 1e-5 * Math.abs(one.get(i)), "loss of step " + (i + 1));
    }
    String[] names = {"codebook words", "mu", "mu_prev", "ptr", "teacher weights", "generator BatchNorm gamma"};
    for (int i = 0; i < names.length; i++) {
      assertArrayEquals(ref.get(i), got.get(i), 1e-5f, names[i] + ": two towers vs one device");
    }
    assertEquals(8f, got.get(3)[0], "two steps of 4 words, once per step");
  }
}
