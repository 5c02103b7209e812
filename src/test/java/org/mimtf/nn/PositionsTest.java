package org.mimtf.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PositionsTest {
  @Test
  void relativeIndexOnA2x2GridMatchesHandComputedTable() {
    // 2x2 grid: R = 3*3 + 3 = 12. Patch p=(ip,jp), key q=(iq,jq): (ip-iq+1)*3 + (jp-jq+1).
    // Sequence 0 = CLS; patches 1..4 = (0,0), (0,1), (1,0), (1,1).
    int[] expected = {
      11, 9, 9, 9, 9,
      10, 4, 3, 1, 0,
      10, 5, 4, 2, 1,
      10, 7, 6, 4, 3,
      10, 8, 7, 5, 4,
    };
    assertArrayEquals(expected, Positions.relativeIndex(2, 2));
    assertEquals(12, Positions.relativeTableSize(2, 2));
  }

  @Test
  void relativeTableSizesOfTheRecipes() {
    assertEquals(732, Positions.relativeTableSize(14, 14));
    assertEquals(228, Positions.relativeTableSize(8, 8));
    assertEquals(172, Positions.relativeTableSize(7, 7));
  }

  @Test
  void relativeIndexOrientationIsQueryMinusKey() {
    // 14x14: query (0,0) key (13,13) has the smallest offset index 0; the reverse the largest, 26*27+26.
    int[] idx = Positions.relativeIndex(14, 14);
    int size = 197;
    assertEquals(0, idx[1 * size + 196]);
    assertEquals(26 * 27 + 26, idx[196 * size + 1]);
    assertEquals(13 * 27 + 13, idx[5 * size + 5], "a token to itself sits at the centre of the table");
  }

  @Test
  void sinCosTableMatchesHandComputedValues() {
    // 2x2 grid, width 8: Q = 2, omega = {1, 1/100}. Row for CLS is zeros.
    float[] t = Positions.sinCos2d(2, 2, 8, true);
    assertEquals(5 * 8, t.length);
    for (int c = 0; c < 8; c++) {
      assertEquals(0f, t[c], "CLS row is zero");
    }
    // token 2 = (i=1, j=0): [sin(0), sin(0), cos(0), cos(0), sin(1), sin(0.01), cos(1), cos(0.01)]
    float[] row2 = java.util.Arrays.copyOfRange(t, 3 * 8, 4 * 8);
    float[] expected2 = {0, 0, 1, 1, (float) Math.sin(1), (float) Math.sin(0.01), (float) Math.cos(1),
        (float) Math.cos(0.01)};
    assertArrayEquals(expected2, row2, 1e-6f);
    // token 1 = (i=0, j=1): the first half encodes the column index j.
    float[] row1 = java.util.Arrays.copyOfRange(t, 2 * 8, 3 * 8);
    float[] expected1 = {(float) Math.sin(1), (float) Math.sin(0.01), (float) Math.cos(1), (float) Math.cos(0.01),
        0, 0, 1, 1};
    assertArrayEquals(expected1, row1, 1e-6f);
  }
}
