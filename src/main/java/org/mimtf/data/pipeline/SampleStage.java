package org.mimtf.data.pipeline;

import java.util.List;

/**
 * One step of the per-example work (decode, a view, a mask, CCViT's replacement positions ...). Stages
 * run in order on a {@link SampleContext}; each writes its batch fields into the example's slot and may
 * leave intermediate values (the decoded image, a mask) for the stages after it.
 */
public interface SampleStage {
  /** The batch fields this stage writes. */
  List<FieldSpec> fields();

  void apply(SampleContext ctx);

  /** A stage from its fields and its per-example work. */
  static SampleStage of(List<FieldSpec> fields, java.util.function.Consumer<SampleContext> work) {
    List<FieldSpec> copy = List.copyOf(fields);
    return new SampleStage() {
      @Override
      public List<FieldSpec> fields() {
        return copy;
      }

      @Override
      public void apply(SampleContext ctx) {
        work.accept(ctx);
      }
    };
  }
}
