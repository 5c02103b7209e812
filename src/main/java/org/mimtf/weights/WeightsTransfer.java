package org.mimtf.weights;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.mimtf.export.EncoderExporter;
import org.mimtf.api.EncoderSpec;
import org.mimtf.nn.VitConfig;
import org.mimtf.util.Json;
import org.mimtf.util.UserException;

/**
 * The two uses of the name mapping as whole operations: a PyTorch file → a mimtf checkpoint (and an
 * encoder SavedModel), and a mimtf checkpoint → a timm-named safetensors file.
 */
public final class WeightsTransfer {
  /** The variable scope imported encoders are written under (the student encoder of every method). */
  public static final String SCOPE = "encoder";

  private WeightsTransfer() {}

  /** What {@link #importFile} wrote and found. */
  public record ImportReport(Path checkpoint, Path savedModel, StateDicts.StateDict source,
      TimmNames.Imported mapped) {
    public Json.Obj json() {
      return Json.obj().put("checkpoint", checkpoint.toString())
          .put("saved_model", savedModel == null ? null : savedModel.toString())
          .put("wrapper", source.wrapper()).put("stripped_prefixes", source.strippedPrefixes())
          .put("loaded", mapped.variables().size()).put("used", mapped.used().size())
          .put("ignored", mapped.ignored()).put("missing", mapped.missing()).put("notes", mapped.notes());
    }
  }

  /**
   * Imports {@code file} into the encoder {@code cfg}: writes {@code out/checkpoints/ckpt-0} (variables
   * {@code encoder/...}, what {@code pretrain --init-from} restores) and, when nothing is missing,
   * {@code out/saved_model} (the encoder export that {@code eval}, {@code features} and SavedModel
   * teachers read). A missing {@code mask_token} is not a fault (inference encoders have none).
   */
  public static ImportReport importFile(Path file, String key, VitConfig cfg, Path out, boolean allowMissing,
      Map<String, String> extras) {
    StateDicts.StateDict sd = StateDicts.read(file, key);
    TimmNames.Imported imp;
    try {
      imp = TimmNames.fromTimm(cfg, sd.tensors(), true);
    } catch (UserException e) {
      throw new UserException(file + ": " + e.getMessage(), e);
    }
    List<String> missing = new ArrayList<>(imp.missing());
    missing.remove("mask_token");
    imp = new TimmNames.Imported(imp.variables(), imp.used(), imp.ignored(), missing, imp.notes());
    if (!missing.isEmpty() && !allowMissing) {
      throw new UserException(file + ": the checkpoint lacks " + missing.size() + " variables of the recipe's "
          + "encoder: " + missing + " (--allow-missing keeps their initialisation at pretrain --init-from)");
    }
    Map<String, TensorData> full = new LinkedHashMap<>();
    imp.variables().forEach((k, v) -> full.put(SCOPE + "/" + k, v));
    Path ckpt = EncoderWeights.writeCheckpoint(out.resolve("checkpoints"), 0, full);
    Path sm = null;
    if (missing.isEmpty()) {
      sm = out.resolve("saved_model");
      try {
        org.mimtf.util.Files2.deleteRecursively(sm);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      EncoderExporter.export(new EncoderSpec(cfg, SCOPE), ckpt, sm, extras);
    }
    return new ImportReport(ckpt, sm, sd, imp);
  }

  private static boolean hasVariable(Path ckpt, String name) {
    Path index = Path.of(ckpt + ".index");
    return java.nio.file.Files.exists(index)
        && org.mimtf.export.CheckpointIndex.read(index).stream().anyMatch(e -> e.name().equals(name));
  }

  /** What {@link #exportFile} wrote. */
  public record ExportReport(Path file, TimmNames.Flavour flavour, String scope, int tensors,
      int extraStudentTensors) {}

  /**
   * Writes the encoder {@code spec} of checkpoint {@code ckpt} under timm names to {@code file}; with
   * {@code wholeStudent}, the student encoder ({@code encoder/}, with its mask token) plus every other
   * student variable of the checkpoint (heads, decoders) under its mimtf name with '/' → '.', values
   * as stored (kernels [in, out]); optimizer slots, momentum and teacher copies are left out.
   */
  public static ExportReport exportFile(EncoderSpec spec, Path ckpt, Path file, TimmNames.Flavour flavour,
      boolean wholeStudent, Map<String, String> metadata) {
    VitConfig cfg = spec.config();
    String scope = wholeStudent ? SCOPE : spec.scope();
    if (!scope.equals(SCOPE) && !hasVariable(ckpt, scope + "/cls_token") && hasVariable(ckpt, SCOPE + "/cls_token")) {
      scope = SCOPE; // an imported checkpoint holds only encoder/, whatever scope the method exports
    }
    Map<String, TensorData> enc = EncoderWeights.readEncoder(cfg, scope, ckpt);
    if (!wholeStudent) {
      enc.remove("mask_token");
    }
    Map<String, TensorData> out = TimmNames.toTimm(cfg, flavour, enc);
    int extra = 0;
    if (wholeStudent) {
      Map<String, TensorData> rest = EncoderWeights.read(ckpt, n -> !n.startsWith(SCOPE + "/")
          && !n.startsWith("optimizer/") && !n.startsWith("momentum/") && !n.startsWith("teacher/")
          && !n.startsWith("ema/") && n.contains("/"));
      for (var e : rest.entrySet()) {
        out.put(e.getKey().replace('/', '.'), e.getValue());
        extra++;
      }
    }
    Map<String, String> meta = new LinkedHashMap<>(metadata);
    meta.put("format", "pt");
    meta.put("mimtf_flavour", flavour.name().toLowerCase());
    Safetensors.write(file, out, meta);
    return new ExportReport(file, flavour, scope, out.size(), extra);
  }
}
