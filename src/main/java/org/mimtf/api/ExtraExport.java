package org.mimtf.api;

import java.io.PrintStream;
import java.nio.file.Path;
import org.mimtf.config.proto.Recipe;

/**
 * An export a method writes beside the plain encoder at the end of a run (SMR's merging encoder).
 * {@link MethodSpec#extraExports} names them, so the export package knows no method.
 */
@FunctionalInterface
public interface ExtraExport {
  /** Exports from {@code checkpoint} (a training checkpoint prefix); returns the export's folder. */
  Path export(Recipe r, EncoderSpec encoder, Path checkpoint, PrintStream out);
}
