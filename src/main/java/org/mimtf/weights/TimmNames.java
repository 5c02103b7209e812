package org.mimtf.weights;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.config.proto.ModelConfig;
import org.mimtf.nn.Positions;
import org.mimtf.nn.VitConfig;
import org.mimtf.util.UserException;

/**
 * The mapping between mimtf's encoder variables and timm/BEiT PyTorch parameter names, in both
 * directions (README, "Variable names and timm/BEiT PyTorch parameter names", is this class as a table).
 *
 * <p>mimtf names are relative to the encoder scope ({@code blocks/3/attn/qkv/kernel}); PyTorch names
 * are timm's ({@code blocks.3.attn.qkv.weight}). Two PyTorch flavours:
 * <ul>
 *   <li>{@link Flavour#VIT}: timm's {@code VisionTransformer} ({@code vit_*}, MAE): one {@code qkv.bias},
 *       layer scale as {@code ls1.gamma}, absolute {@code pos_embed} [1, N+1, D];
 *   <li>{@link Flavour#BEIT}: timm's {@code Beit} and the official BEiT/BEiT v2 code: {@code q_bias} and
 *       {@code v_bias} (no key bias), {@code gamma_1}/{@code gamma_2}, relative position bias tables
 *       per block ({@code blocks.i.attn.relative_position_bias_table}) or shared
 *       ({@code rel_pos_bias.relative_position_bias_table}).
 * </ul>
 * Conversions: Linear weights [out, in] ↔ kernels [in, out] (transpose); the patch-embedding conv
 * [D, C, P, P] ↔ kernel [C·P², D] (mimtf flattens patches in (c, py, px) order, the conv's);
 * {@code pos_embed} [1, N+1, D] ↔ [N+1, D]. A key bias is dropped when going to q/v biases: a bias
 * added to every key adds q·b_k to all logits of a query alike, which the softmax cancels, so the
 * network's function is unchanged. Missing layer scale on import is exact too (γ = 1).
 */
public final class TimmNames {
  private TimmNames() {}

  /**
   * Scope of a per-block relative position table inside block i: {@code
   * blocks/i/attn/relative_position_bias_table}, as timm's {@code blocks.i.attn.relative_position_bias_table}
   * (TimmNamesTest checks this against the graph).
   */
  public static final String PER_BLOCK_REL_SCOPE = "attn";

  public enum Flavour {
    VIT,
    BEIT
  }

  /** BEIT when the encoder has a relative position bias or q/v biases, else VIT. */
  public static Flavour flavour(VitConfig c) {
    return c.relPos() != ModelConfig.RelPosBias.REL_NONE
        || c.qkvBias() == ModelConfig.QkvBias.QV_BIAS ? Flavour.BEIT : Flavour.VIT;
  }

  /** mimtf's encoder variables of {@code c} (relative names → shapes), in creation order. */
  public static Map<String, long[]> mimtfShapes(VitConfig c, boolean withMaskToken) {
    Map<String, long[]> s = new LinkedHashMap<>();
    long d = c.width();
    s.put("patch_embed/proj/kernel", new long[] {c.patchDim(), d});
    s.put("patch_embed/proj/bias", new long[] {d});
    s.put("cls_token", new long[] {1, 1, d});
    if (withMaskToken) {
      s.put("mask_token", new long[] {1, 1, d});
    }
    if (c.absPos() == ModelConfig.AbsPosEmbedding.LEARNED) {
      s.put("pos_embed", new long[] {c.numPatches() + 1, d});
    }
    long rel = Positions.relativeTableSize(c.grid(), c.grid());
    if (c.relPos() == ModelConfig.RelPosBias.SHARED) {
      s.put("rel_pos_bias/relative_position_bias_table", new long[] {rel, c.numHeads()});
    }
    for (int i = 0; i < c.depth(); i++) {
      String b = "blocks/" + i + "/";
      s.put(b + "norm1/gamma", new long[] {d});
      s.put(b + "norm1/beta", new long[] {d});
      s.put(b + "attn/qkv/kernel", new long[] {d, 3 * d});
      if (c.qkvBias() == ModelConfig.QkvBias.QKV_BIAS) {
        s.put(b + "attn/qkv/bias", new long[] {3 * d});
      }
      if (c.qkvBias() == ModelConfig.QkvBias.QV_BIAS) {
        s.put(b + "attn/q_bias", new long[] {d});
        s.put(b + "attn/v_bias", new long[] {d});
      }
      s.put(b + "attn/proj/kernel", new long[] {d, d});
      s.put(b + "attn/proj/bias", new long[] {d});
      s.put(b + "norm2/gamma", new long[] {d});
      s.put(b + "norm2/beta", new long[] {d});
      s.put(b + "mlp/fc1/kernel", new long[] {d, c.mlpDim()});
      s.put(b + "mlp/fc1/bias", new long[] {c.mlpDim()});
      s.put(b + "mlp/fc2/kernel", new long[] {c.mlpDim(), d});
      s.put(b + "mlp/fc2/bias", new long[] {d});
      if (c.layerScaleInit() > 0) {
        s.put(b + "gamma_1", new long[] {d});
        s.put(b + "gamma_2", new long[] {d});
      }
      if (c.relPos() == ModelConfig.RelPosBias.PER_BLOCK) {
        s.put(b + PER_BLOCK_REL_SCOPE + "/relative_position_bias_table", new long[] {rel, c.numHeads()});
      }
    }
    s.put("norm/gamma", new long[] {d});
    s.put("norm/beta", new long[] {d});
    return s;
  }

  // ---------------------------------------------------------------- export: mimtf -> PyTorch

  /**
   * The timm state dict of an encoder. {@code w} holds mimtf's variables by relative name (all of
   * {@link #mimtfShapes}; {@code mask_token} is written when present). The fixed sin-cos table of
   * {@code SINCOS_2D} encoders is written as {@code pos_embed}, as MAE and timm hold it (a frozen
   * parameter).
   */
  public static Map<String, TensorData> toTimm(VitConfig c, Flavour f, Map<String, TensorData> w) {
    Map<String, TensorData> out = new LinkedHashMap<>();
    long d = c.width();
    out.put("cls_token", get(w, "cls_token"));
    if (w.containsKey("mask_token")) {
      out.put("mask_token", w.get("mask_token"));
    }
    if (c.absPos() == ModelConfig.AbsPosEmbedding.LEARNED) {
      out.put("pos_embed", get(w, "pos_embed").reshape(1, c.numPatches() + 1, d));
    } else if (c.absPos() == ModelConfig.AbsPosEmbedding.SINCOS_2D) {
      out.put("pos_embed", new TensorData(new long[] {1, c.numPatches() + 1, d},
          Positions.sinCos2d(c.grid(), c.grid(), c.width(), true)));
    }
    out.put("patch_embed.proj.weight", get(w, "patch_embed/proj/kernel").transpose2d()
        .reshape(d, c.channels(), c.patchSize(), c.patchSize()));
    out.put("patch_embed.proj.bias", get(w, "patch_embed/proj/bias"));
    if (c.relPos() == ModelConfig.RelPosBias.SHARED) {
      requireBeit(f, "a shared relative position bias");
      out.put("rel_pos_bias.relative_position_bias_table", get(w, "rel_pos_bias/relative_position_bias_table"));
    }
    for (int i = 0; i < c.depth(); i++) {
      String m = "blocks/" + i + "/";
      String t = "blocks." + i + ".";
      if (f == Flavour.BEIT && c.layerScaleInit() > 0) {
        out.put(t + "gamma_1", get(w, m + "gamma_1"));
        out.put(t + "gamma_2", get(w, m + "gamma_2"));
      }
      out.put(t + "norm1.weight", get(w, m + "norm1/gamma"));
      out.put(t + "norm1.bias", get(w, m + "norm1/beta"));
      out.put(t + "attn.qkv.weight", get(w, m + "attn/qkv/kernel").transpose2d());
      TensorData[] qkv = qkvBias(c, w, m);
      if (f == Flavour.BEIT && qkv != null) {
        out.put(t + "attn.q_bias", qkv[0]);
        out.put(t + "attn.v_bias", qkv[2]);
      } else if (f == Flavour.VIT && qkv != null) {
        out.put(t + "attn.qkv.bias", TensorData.concatRows(qkv));
      }
      if (c.relPos() == ModelConfig.RelPosBias.PER_BLOCK) {
        requireBeit(f, "a relative position bias");
        out.put(t + "attn.relative_position_bias_table",
            get(w, m + PER_BLOCK_REL_SCOPE + "/relative_position_bias_table"));
      }
      out.put(t + "attn.proj.weight", get(w, m + "attn/proj/kernel").transpose2d());
      out.put(t + "attn.proj.bias", get(w, m + "attn/proj/bias"));
      if (f == Flavour.VIT && c.layerScaleInit() > 0) {
        out.put(t + "ls1.gamma", get(w, m + "gamma_1"));
      }
      out.put(t + "norm2.weight", get(w, m + "norm2/gamma"));
      out.put(t + "norm2.bias", get(w, m + "norm2/beta"));
      out.put(t + "mlp.fc1.weight", get(w, m + "mlp/fc1/kernel").transpose2d());
      out.put(t + "mlp.fc1.bias", get(w, m + "mlp/fc1/bias"));
      out.put(t + "mlp.fc2.weight", get(w, m + "mlp/fc2/kernel").transpose2d());
      out.put(t + "mlp.fc2.bias", get(w, m + "mlp/fc2/bias"));
      if (f == Flavour.VIT && c.layerScaleInit() > 0) {
        out.put(t + "ls2.gamma", get(w, m + "gamma_2"));
      }
    }
    out.put("norm.weight", get(w, "norm/gamma"));
    out.put("norm.bias", get(w, "norm/beta"));
    return out;
  }

  private static void requireBeit(Flavour f, String what) {
    if (f != Flavour.BEIT) {
      throw new UserException("timm's VisionTransformer has no place for " + what + "; export the BEiT flavour");
    }
  }

  /** The q, k, v biases of block prefix {@code m} ([D] each; k zero for q/v biases), or null. */
  private static TensorData[] qkvBias(VitConfig c, Map<String, TensorData> w, String m) {
    int d = c.width();
    return switch (c.qkvBias()) {
      case QKV_BIAS -> {
        TensorData b = get(w, m + "attn/qkv/bias");
        yield new TensorData[] {b.rows(0, d), b.rows(d, 2 * d), b.rows(2 * d, 3 * d)};
      }
      case QV_BIAS -> new TensorData[] {get(w, m + "attn/q_bias"), TensorData.zeros(d), get(w, m + "attn/v_bias")};
      default -> null;
    };
  }

  private static TensorData get(Map<String, TensorData> w, String name) {
    TensorData t = w.get(name);
    if (t == null) {
      throw new UserException("encoder variable " + name + " is missing");
    }
    return t;
  }

  // ---------------------------------------------------------------- import: PyTorch -> mimtf

  /**
   * What an import produced: mimtf variables (relative names), and for the report the PyTorch names
   * that were used, those ignored (heads, decoders, buffers) and the mimtf variables the file lacks.
   */
  public record Imported(Map<String, TensorData> variables, List<String> used, List<String> ignored,
      List<String> missing, List<String> notes) {}

  /**
   * Maps a timm/BEiT state dict onto the encoder of {@code c}, checking every shape. Converts between
   * the flavours where that is exact (q/v biases ↔ qkv bias, shared → per-block relative bias, no
   * layer scale → γ = 1) and resizes a learned position table to the recipe's grid; refuses anything
   * else with the parameter's name and both shapes.
   */
  public static Imported fromTimm(VitConfig c, Map<String, TensorData> sd, boolean withMaskToken) {
    Map<String, long[]> want = mimtfShapes(c, withMaskToken);
    Map<String, TensorData> out = new LinkedHashMap<>();
    List<String> used = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    Reader r = new Reader(sd, used);
    long d = c.width();
    int depth = countBlocks(sd);
    if (depth != c.depth()) {
      throw new UserException("the checkpoint has " + depth + " blocks (blocks.0 … blocks." + (depth - 1)
          + "), the recipe's encoder has model.depth = " + c.depth());
    }
    TensorData pe = r.take("patch_embed.proj.weight");
    if (pe != null) {
      long[] conv = {d, c.channels(), c.patchSize(), c.patchSize()};
      checkShape("patch_embed.proj.weight", pe, conv);
      out.put("patch_embed/proj/kernel", pe.reshape(d, c.patchDim()).transpose2d());
    }
    r.copy(out, "patch_embed.proj.bias", "patch_embed/proj/bias", want);
    r.copy(out, "cls_token", "cls_token", want);
    if (withMaskToken) {
      r.copy(out, "mask_token", "mask_token", want);
    }
    positions(c, r, out, notes);
    relativeBias(c, r, out, notes);
    for (int i = 0; i < c.depth(); i++) {
      String m = "blocks/" + i + "/";
      String t = "blocks." + i + ".";
      r.copy(out, t + "norm1.weight", m + "norm1/gamma", want);
      r.copy(out, t + "norm1.bias", m + "norm1/beta", want);
      r.copyT(out, t + "attn.qkv.weight", m + "attn/qkv/kernel", want);
      qkvBiasIn(c, r, out, t, m, notes, i == 0);
      r.copyT(out, t + "attn.proj.weight", m + "attn/proj/kernel", want);
      r.copy(out, t + "attn.proj.bias", m + "attn/proj/bias", want);
      r.copy(out, t + "norm2.weight", m + "norm2/gamma", want);
      r.copy(out, t + "norm2.bias", m + "norm2/beta", want);
      r.copyT(out, t + "mlp.fc1.weight", m + "mlp/fc1/kernel", want);
      r.copy(out, t + "mlp.fc1.bias", m + "mlp/fc1/bias", want);
      r.copyT(out, t + "mlp.fc2.weight", m + "mlp/fc2/kernel", want);
      r.copy(out, t + "mlp.fc2.bias", m + "mlp/fc2/bias", want);
      for (int g = 1; g <= 2; g++) {
        String beit = t + "gamma_" + g;
        String timm = t + "ls" + g + ".gamma";
        String src = sd.containsKey(beit) ? beit : sd.containsKey(timm) ? timm : null;
        if (c.layerScaleInit() > 0) {
          if (src == null) {
            out.put(m + "gamma_" + g, ones(d));
            if (i == 0 && g == 1) {
              notes.add("the checkpoint has no layer scale: gamma_1/gamma_2 set to 1 (the same function)");
            }
          } else {
            r.copy(out, src, m + "gamma_" + g, want);
          }
        } else if (src != null) {
          TensorData gamma = r.take(src);
          if (gamma.maxAbsDiff(ones(d)) != 0f) {
            throw new UserException(src + " is a layer scale " + gamma.shapeString() + " but the recipe's encoder has "
                + "none (model.layer_scale_init = 0): set layer_scale_init > 0 to load it");
          }
        }
      }
    }
    if (sd.containsKey("norm.weight")) {
      r.copy(out, "norm.weight", "norm/gamma", want);
      r.copy(out, "norm.bias", "norm/beta", want);
    } else if (sd.containsKey("fc_norm.weight")) {
      r.copy(out, "fc_norm.weight", "norm/gamma", want);
      r.copy(out, "fc_norm.bias", "norm/beta", want);
      notes.add("no norm.weight: fc_norm (timm's norm after average pooling) loaded as the final norm, which "
          + "mimtf applies to every token before pooling");
    }
    List<String> missing = new ArrayList<>();
    for (String n : want.keySet()) {
      if (!out.containsKey(n)) {
        missing.add(n);
      }
    }
    List<String> ignored = new ArrayList<>();
    for (String k : sd.keySet()) {
      if (!used.contains(k)) {
        ignored.add(k);
      }
    }
    return new Imported(out, used, ignored, missing, notes);
  }

  private static int countBlocks(Map<String, TensorData> sd) {
    int n = 0;
    while (true) {
      String p = "blocks." + n + ".";
      if (sd.keySet().stream().noneMatch(k -> k.startsWith(p))) {
        return n;
      }
      n++;
    }
  }

  private static void positions(VitConfig c, Reader r, Map<String, TensorData> out, List<String> notes) {
    TensorData pos = r.take("pos_embed");
    long d = c.width();
    if (pos == null) {
      return;
    }
    if (c.absPos() == ModelConfig.AbsPosEmbedding.ABS_NONE) {
      throw new UserException("the checkpoint has pos_embed " + pos.shapeString() + " but the recipe's encoder has no "
          + "absolute positions (model.abs_pos_embedding): set LEARNED (or SINCOS_2D for MAE's fixed table)");
    }
    if (pos.shape().length != 3 || pos.shape()[0] != 1 || pos.shape()[2] != d) {
      throw new UserException("pos_embed has shape " + pos.shapeString() + ", expected [1, T, " + d + "]");
    }
    long rows = pos.shape()[1];
    int prefix;
    long gridRows;
    if (isSquare(rows - 1)) {
      prefix = 1;
      gridRows = rows - 1;
    } else if (isSquare(rows)) {
      prefix = 0;
      gridRows = rows;
    } else {
      throw new UserException("pos_embed has shape " + pos.shapeString() + ": neither a square grid nor CLS + a "
          + "square grid");
    }
    TensorData table = pos.reshape(rows, d);
    if (prefix == 0) {
      table = TensorData.concatRows(TensorData.zeros(1, d), table);
      notes.add("pos_embed has no CLS row (timm no_embed_class): CLS gets a zero position");
    }
    int oldGrid = (int) Math.round(Math.sqrt(gridRows));
    if (oldGrid != c.grid()) {
      if (c.absPos() == ModelConfig.AbsPosEmbedding.LEARNED) {
        table = PositionResize.resize(table, 1, oldGrid, oldGrid, c.grid(), c.grid());
        notes.add("pos_embed resized from a " + oldGrid + "x" + oldGrid + " to a " + c.grid() + "x" + c.grid()
            + " grid (bicubic, antialiased, as timm's resample_abs_pos_embed)");
      }
    }
    if (c.absPos() == ModelConfig.AbsPosEmbedding.SINCOS_2D) {
      TensorData fixed = new TensorData(new long[] {gridRows + 1, d}, Positions.sinCos2d(oldGrid, oldGrid, (int) d,
          true));
      float diff = table.maxAbsDiff(fixed);
      if (diff > 1e-4f) {
        throw new UserException("pos_embed differs from the 2-D sin-cos table by up to " + diff + ": it was learned; "
            + "set model.abs_pos_embedding = LEARNED to load it");
      }
      notes.add("pos_embed equals the fixed 2-D sin-cos table (max diff " + diff + "); the recipe computes it");
      return;
    }
    out.put("pos_embed", table);
  }

  private static boolean isSquare(long n) {
    long s = Math.round(Math.sqrt(n));
    return n > 0 && s * s == n;
  }

  private static void relativeBias(VitConfig c, Reader r, Map<String, TensorData> out, List<String> notes) {
    String shared = "rel_pos_bias.relative_position_bias_table";
    long rel = Positions.relativeTableSize(c.grid(), c.grid());
    long[] shape = {rel, c.numHeads()};
    boolean fileShared = r.sd.containsKey(shared);
    boolean filePerBlock = r.sd.containsKey("blocks.0.attn.relative_position_bias_table");
    checkIndex(c, r, "rel_pos_bias.relative_position_index");
    for (int i = 0; i < c.depth(); i++) {
      checkIndex(c, r, "blocks." + i + ".attn.relative_position_index");
    }
    ModelConfig.RelPosBias mode = c.relPos();
    if (mode == ModelConfig.RelPosBias.SHARED) {
      if (filePerBlock) {
        throw new UserException("the checkpoint has a relative position bias per block "
            + "(blocks.i.attn.relative_position_bias_table) but the recipe shares one (model.rel_pos_bias = SHARED): "
            + "set PER_BLOCK");
      }
      if (fileShared) {
        TensorData t = r.take(shared);
        checkTable(shared, t, shape, c);
        out.put("rel_pos_bias/relative_position_bias_table", t);
      }
    } else if (mode == ModelConfig.RelPosBias.PER_BLOCK) {
      TensorData sharedTable = null;
      if (fileShared) {
        sharedTable = r.take(shared);
        checkTable(shared, sharedTable, shape, c);
        notes.add("the shared relative position bias copied into every block (as BEiT's fine-tuning does)");
      }
      for (int i = 0; i < c.depth(); i++) {
        String k = "blocks." + i + ".attn.relative_position_bias_table";
        TensorData t = r.take(k);
        if (t != null) {
          checkTable(k, t, shape, c);
          out.put("blocks/" + i + "/" + PER_BLOCK_REL_SCOPE + "/relative_position_bias_table", t);
        } else if (sharedTable != null) {
          out.put("blocks/" + i + "/" + PER_BLOCK_REL_SCOPE + "/relative_position_bias_table", sharedTable);
        }
      }
    } else if (fileShared || filePerBlock) {
      throw new UserException("the checkpoint has a relative position bias (" + (fileShared ? shared
          : "blocks.0.attn.relative_position_bias_table") + ") but the recipe's encoder has none: set "
          + "model.rel_pos_bias");
    }
  }

  private static void checkTable(String name, TensorData t, long[] shape, VitConfig c) {
    if (!Arrays.equals(t.shape(), shape)) {
      throw new UserException(name + " has shape " + t.shapeString() + ", the recipe's encoder expects "
          + Arrays.toString(shape) + " (a " + c.grid() + "x" + c.grid() + " grid, " + c.numHeads() + " heads): "
          + "resizing relative position tables is not supported; use the checkpoint's image size");
    }
  }

  /** A stored index must be BEiT's index for the recipe's grid (the same query − key convention). */
  private static void checkIndex(VitConfig c, Reader r, String name) {
    TensorData idx = r.take(name);
    if (idx == null) {
      return;
    }
    int[] mine = Positions.relativeIndex(c.grid(), c.grid());
    boolean same = idx.data().length == mine.length;
    for (int i = 0; same && i < mine.length; i++) {
      same = idx.data()[i] == mine[i];
    }
    if (!same) {
      throw new UserException(name + " " + idx.shapeString() + " is not BEiT's relative position index of a "
          + c.grid() + "x" + c.grid() + " grid, which mimtf uses");
    }
  }

  private static void qkvBiasIn(VitConfig c, Reader r, Map<String, TensorData> out, String t, String m,
      List<String> notes, boolean first) {
    int d = c.width();
    TensorData q = r.take(t + "attn.q_bias");
    TensorData v = r.take(t + "attn.v_bias");
    TensorData k = r.take(t + "attn.k_bias");
    TensorData qkv = r.take(t + "attn.qkv.bias");
    long[] one = {d};
    if (q != null || v != null) {
      if (q == null || v == null) {
        throw new UserException(t + "attn has only one of q_bias and v_bias");
      }
      checkShape(t + "attn.q_bias", q, one);
      checkShape(t + "attn.v_bias", v, one);
      qkv = TensorData.concatRows(q, k != null ? k : TensorData.zeros(d), v);
    } else if (qkv != null) {
      checkShape(t + "attn.qkv.bias", qkv, new long[] {3L * d});
    }
    switch (c.qkvBias()) {
      case QKV_BIAS -> {
        if (qkv != null) {
          out.put(m + "attn/qkv/bias", qkv);
        }
      }
      case QV_BIAS -> {
        if (qkv != null) {
          if (first && qkv.rows(d, 2 * d).maxAbs() != 0f) {
            notes.add("key biases dropped (qkv.bias → q_bias, v_bias): a bias on every key cancels in the softmax");
          }
          out.put(m + "attn/q_bias", qkv.rows(0, d));
          out.put(m + "attn/v_bias", qkv.rows(2 * d, 3 * d));
        }
      }
      default -> {
        if (qkv != null && (qkv.rows(0, d).maxAbs() != 0f || qkv.rows(2 * d, 3 * d).maxAbs() != 0f)) {
          throw new UserException(t + "attn has query/value biases but the recipe's encoder has none "
              + "(model.qkv_bias): set QKV_BIAS or QV_BIAS");
        }
      }
    }
  }

  private static TensorData ones(long d) {
    float[] v = new float[(int) d];
    Arrays.fill(v, 1f);
    return new TensorData(new long[] {d}, v);
  }

  static void checkShape(String name, TensorData t, long[] expected) {
    if (!Arrays.equals(t.shape(), expected)) {
      throw new UserException("shape mismatch for " + name + ": the checkpoint has " + t.shapeString()
          + ", the recipe's encoder expects " + Arrays.toString(expected));
    }
  }

  /** Takes tensors out of a state dict, recording which were used. */
  private static final class Reader {
    final Map<String, TensorData> sd;
    final List<String> used;

    Reader(Map<String, TensorData> sd, List<String> used) {
      this.sd = sd;
      this.used = used;
    }

    TensorData take(String name) {
      TensorData t = sd.get(name);
      if (t != null && !used.contains(name)) {
        used.add(name);
      }
      return t;
    }

    void copy(Map<String, TensorData> out, String src, String dst, Map<String, long[]> want) {
      TensorData t = take(src);
      if (t != null) {
        checkShape(src, t, want.get(dst));
        out.put(dst, t);
      }
    }

    /** A Linear weight [out, in] to a kernel [in, out]. */
    void copyT(Map<String, TensorData> out, String src, String dst, Map<String, long[]> want) {
      TensorData t = take(src);
      if (t != null) {
        long[] k = want.get(dst);
        checkShape(src, t, new long[] {k[1], k[0]});
        out.put(dst, t.transpose2d());
      }
    }
  }
}
