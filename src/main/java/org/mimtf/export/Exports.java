package org.mimtf.export;

import com.google.protobuf.TextFormat;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import org.mimtf.api.EncoderSpec;
import org.mimtf.config.proto.Recipe;
import org.mimtf.util.Provenance;

/** Where exports of a recipe go, and the export step that ends a pre-training run. */
public final class Exports {
  private Exports() {}

  /** {@code export.dir/export.name/export.version}, the layout TF Serving expects. */
  public static Path exportDir(Recipe r) {
    return Path.of(r.getExport().getDir(), r.getExport().getName(), Integer.toString(r.getExport().getVersion()));
  }

  /**
   * Exports the run's encoder from {@code checkpoint}, replacing an older export of the same version.
   * A method's extra exports (SMR's merging encoder) are its spec's: {@code MethodRegistry.exportRun}
   * writes both.
   */
  public static Path exportRun(Recipe r, EncoderSpec spec, Path checkpoint, PrintStream out) {
    Path dir = exportDir(r);
    try {
      org.mimtf.util.Files2.deleteRecursively(dir);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    EncoderExporter.export(spec, checkpoint, dir, extras(r, checkpoint));
    out.println("exported the encoder (" + spec.scope() + ") to " + dir);
    return dir;
  }

  /** Provenance and recipe for {@code assets.extra/}. */
  public static Map<String, String> extras(Recipe r, Path checkpoint) {
    return Map.of("provenance.json", Provenance.of(r).put("checkpoint", checkpoint == null ? "random-init"
        : checkpoint.toString()) + "\n", "recipe.pbtxt", TextFormat.printer().printToString(r));
  }
}
