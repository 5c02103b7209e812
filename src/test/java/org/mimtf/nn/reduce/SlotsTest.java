package org.mimtf.nn.reduce;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;
import org.mimtf.nn.GraphTesting;
import org.mimtf.nn.TokenState;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.op.Ops;

/** Putting reduced tokens back on the grid (SMR's decoder input), by hand. */
class SlotsTest {
  /** Tokens [CLS, a, fused-without-slot, b] with slots [-1, 2, NO_SLOT, 0] on a 3-patch grid. */
  @Test
  void survivorsLandOnTheirSlotsAndTheRestIsEmpty() {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      var tokens = tf.constant(new float[][][] {{{1, 1}, {2, 2}, {3, 3}, {4, 4}}});
      var slots = tf.constant(new int[][] {{-1, 2, TokenState.NO_SLOT, 0}});
      var out = Slots.scatter(tf, tokens, slots, 3);
      assertArrayEquals(new float[] {1, 1, 4, 4, 0, 0, 2, 2}, GraphTesting.read(s, out[0]), "[CLS, b, empty, a]");
      assertArrayEquals(new float[] {1, 1, 0, 1}, GraphTesting.read(s, out[1]));
    }
  }

  /** ToMe's unmerge: patches copy their owner's token; a deleted patch (owner -1) is zero and masked. */
  @Test
  void unmergeCopiesEachOwnersTokenToItsPatches() {
    try (Graph g = new Graph(); Session s = new Session(g)) {
      Ops tf = Ops.create(g);
      var tokens = tf.constant(new float[][][] {{{1, 1}, {2, 2}, {3, 3}}});
      var owner = tf.constant(new int[][] {{2, 1, 2, -1}});
      var out = Slots.unmerge(tf, tokens, owner);
      assertArrayEquals(new float[] {3, 3, 2, 2, 3, 3, 0, 0}, GraphTesting.read(s, out[0]));
      assertArrayEquals(new float[] {1, 1, 1, 0}, GraphTesting.read(s, out[1]));
      // group means of per-patch values: patches 0 and 2 share owner 2
      var v = tf.constant(new float[][][] {{{10}, {20}, {30}, {40}}});
      assertArrayEquals(new float[] {20, 20, 20, 0.5f}, GraphTesting.read(s, Slots.groupMean(tf, v, owner, 3, 0.5f)));
      var sizes = tf.constant(new float[][][] {{{1}, {1}, {3}}});
      assertArrayEquals(new float[] {(2 + 9) / 4f, (2 + 9) / 4f},
          GraphTesting.read(s, Slots.weightedPatchMean(tf, tokens, sizes, 3)), 1e-6f);
    }
  }
}
