package org.mimtf.nn;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * Position tables computed on the host (they are constants of the graph).
 */
public final class Positions {
  private Positions() {}

  /**
   * The fixed 2-D sin-cos embedding of MAE/MOCA (common-vit.md §3), with a zero row for CLS first:
   * shape [(gh·gw) + 1, dim], row-major tokens t = i·gw + j. With Q = dim/4 and ω_k = 10000^(−k/Q),
   * channels [0,Q) = sin(j ω), [Q,2Q) = cos(j ω), [2Q,3Q) = sin(i ω), [3Q,4Q) = cos(i ω): the first
   * half encodes the column (x) index.
   */
  public static float[] sinCos2d(int gh, int gw, int dim, boolean clsRow) {
    checkArgument(dim % 4 == 0, "sin-cos embedding width (%s) must be divisible by 4", dim);
    int q = dim / 4;
    float[] omega = new float[q];
    for (int k = 0; k < q; k++) {
      // float32 as the reference: omega = 1 / 10000^(k / Q)
      omega[k] = (float) (1.0 / Math.pow(10000.0, (float) k / q));
    }
    int off = clsRow ? 1 : 0;
    float[] t = new float[(gh * gw + off) * dim];
    for (int i = 0; i < gh; i++) {
      for (int j = 0; j < gw; j++) {
        int row = (i * gw + j + off) * dim;
        for (int k = 0; k < q; k++) {
          float aj = j * omega[k];
          float ai = i * omega[k];
          t[row + k] = (float) Math.sin(aj);
          t[row + q + k] = (float) Math.cos(aj);
          t[row + 2 * q + k] = (float) Math.sin(ai);
          t[row + 3 * q + k] = (float) Math.cos(ai);
        }
      }
    }
    return t;
  }

  /** Rows of BEiT's relative position bias table: (2·gh − 1)(2·gw − 1) + 3. */
  public static int relativeTableSize(int gh, int gw) {
    return (2 * gh - 1) * (2 * gw - 1) + 3;
  }

  /**
   * BEiT's relative position index (common-vit.md §4), shape [(N+1), (N+1)] row-major, sequence index
   * 0 = CLS. Patch query p=(ip,jp), key q=(iq,jq): {@code (ip−iq+gh−1)(2gw−1) + (jp−jq+gw−1)};
   * CLS→patch R−3, patch→CLS R−2, CLS→CLS R−1.
   */
  public static int[] relativeIndex(int gh, int gw) {
    int n = gh * gw;
    int r = relativeTableSize(gh, gw);
    int size = n + 1;
    int[] idx = new int[size * size];
    for (int p = 0; p < n; p++) {
      int ip = p / gw;
      int jp = p % gw;
      for (int k = 0; k < n; k++) {
        int iq = k / gw;
        int jq = k % gw;
        idx[(p + 1) * size + (k + 1)] = (ip - iq + gh - 1) * (2 * gw - 1) + (jp - jq + gw - 1);
      }
    }
    for (int k = 1; k < size; k++) {
      idx[k] = r - 3; // query CLS, key patch
      idx[k * size] = r - 2; // query patch, key CLS
    }
    idx[0] = r - 1;
    return idx;
  }
}
