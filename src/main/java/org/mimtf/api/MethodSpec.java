package org.mimtf.api;

import java.util.List;
import org.mimtf.config.proto.Recipe;
import org.mimtf.data.pipeline.SampleStage;
import org.mimtf.nn.VitConfig;

/**
 * Everything about one method that is not graph code, in its own package: the rules of its recipe
 * section, the pipeline stages it adds, the encoder it keeps and any extra exports, and how its
 * {@link MimMethod} is made from a recipe (loading the artifacts of earlier stages: a tokenizer, a
 * teacher). {@code methods.MethodRegistry} maps the recipe's {@code method} oneof to one spec each,
 * in the spirit of the TF Object Detection API's builder maps.
 */
public interface MethodSpec {
  /**
   * Adds the problems of the method's section, and of the rest of the recipe as far as the method
   * constrains it (the masking it needs, a batch size its queue needs), to {@code checks}. Runs on
   * a resolved recipe after the recipe-wide checks.
   */
  void validate(Recipe r, RecipeChecks checks);

  /**
   * Resolves the relative input paths of the method's section in {@code b} (the recipe loader calls
   * it before the resolver; the recipe-wide sources are resolved already). None by default.
   */
  default void resolveInputs(Recipe.Builder b, InputPaths paths) {}

  /**
   * The per-example stages the method adds to the pipeline, without loading its artifacts (so a
   * data preview works before any tokenizer exists).
   */
  default List<SampleStage> pipelineStages(Recipe r) {
    return List.of();
  }

  /**
   * The encoder the method keeps, without loading its artifacts (export and evaluation need only its
   * shape and checkpoint scope).
   */
  default EncoderSpec encoder(Recipe r) {
    return new EncoderSpec(VitConfig.from(r.getModel()), "encoder");
  }

  /** Exports written beside the plain encoder at the end of a run (none by default). */
  default List<ExtraExport> extraExports(Recipe r) {
    return List.of();
  }

  /**
   * The method of a validated recipe, with the artifacts of its earlier stages loaded; a missing
   * artifact is a {@code UserException} that says which command makes it.
   */
  MimMethod create(Recipe r);
}
