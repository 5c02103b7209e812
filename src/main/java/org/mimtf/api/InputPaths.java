package org.mimtf.api;

import org.mimtf.config.proto.SourceConfig;
import org.mimtf.config.proto.TeacherConfig;

/**
 * How the recipe loader resolves a relative input path (against the recipe file's folder, else the
 * working directory), offered to a {@link MethodSpec} for the inputs of its own section (a tokenizer
 * folder, a teacher SavedModel, a tokenizer stage's data).
 */
public interface InputPaths {
  /** One path (a file, a folder or a glob). */
  String input(String path);

  /** A data source's {@code path} and {@code labels_path}. */
  SourceConfig source(SourceConfig s);

  /** A teacher's {@code saved_model_dir}. */
  TeacherConfig teacher(TeacherConfig t);
}
