package org.mimtf.methods;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.mimtf.api.EncoderSpec;
import org.mimtf.api.ExtraExport;
import org.mimtf.api.MethodSpec;
import org.mimtf.api.MimMethod;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.pipeline.SampleStage;
import org.mimtf.export.Exports;
import org.mimtf.methods.beitv2.Beitv2Spec;
import org.mimtf.methods.ccvit.CcvitSpec;
import org.mimtf.methods.conmim.ConmimSpec;
import org.mimtf.methods.moca.MocaSpec;
import org.mimtf.methods.smr.SmrSpec;
import org.mimtf.util.UserException;

/**
 * The table from the recipe's {@code method} oneof to each method's {@link MethodSpec} — the one
 * place that lists the methods. Adding a method: its package (spec, method, tests), its section in
 * {@code recipe.proto}'s oneof, and one line here.
 */
public final class MethodRegistry {
  private static final Map<Recipe.MethodCase, MethodSpec> SPECS = new EnumMap<>(Map.of(
      Recipe.MethodCase.CCVIT, new CcvitSpec(),
      Recipe.MethodCase.BEITV2, new Beitv2Spec(),
      Recipe.MethodCase.CONMIM, new ConmimSpec(),
      Recipe.MethodCase.MOCA, new MocaSpec(),
      Recipe.MethodCase.SMR, new SmrSpec()));

  private MethodRegistry() {}

  /** The spec of the recipe's method; a recipe without one is the user's to fix. */
  public static MethodSpec spec(Recipe r) {
    MethodSpec s = SPECS.get(r.getMethodCase());
    if (s == null) {
      throw new UserException("the recipe names no method: it needs exactly one of " + names());
    }
    return s;
  }

  /** The method sections a recipe may name, as written in a pbtxt ({@code ccvit { }, ...}). */
  public static String names() {
    return String.join(", ", SPECS.keySet().stream().map(c -> c.name().toLowerCase() + " { }").toList());
  }

  /** The method of a recipe, with the artifacts of its earlier stages loaded. */
  public static MimMethod create(Recipe r) {
    return spec(r).create(r);
  }

  /** The per-example stages the recipe's method adds to the pipeline (no artifacts loaded). */
  public static List<SampleStage> pipelineStages(Recipe r) {
    return spec(r).pipelineStages(r);
  }

  /** The encoder the recipe's method keeps (no artifacts loaded). */
  public static EncoderSpec encoderSpec(Recipe r) {
    return spec(r).encoder(r);
  }

  /**
   * The export step that ends a pre-training run: the plain encoder ({@link Exports#exportRun}) and
   * the method's extra exports; returns the plain encoder's folder.
   */
  public static Path exportRun(Recipe r, EncoderSpec encoder, Path checkpoint, PrintStream out) {
    Path dir = Exports.exportRun(r, encoder, checkpoint, out);
    for (ExtraExport e : spec(r).extraExports(r)) {
      e.export(r, encoder, checkpoint, out);
    }
    return dir;
  }
}
