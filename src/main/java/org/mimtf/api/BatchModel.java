package org.mimtf.api;

import org.mimtf.data.pipeline.Batch;
import org.mimtf.data.pipeline.FieldSpec;

/**
 * A batch field a method computes on each batch before the training step, with a frozen model
 * loaded beside the training session (a teacher's features, a tokenizer's ids). The pipeline
 * reserves the field; the trainer calls {@link #fill} on every batch it feeds.
 */
public interface BatchModel extends AutoCloseable {
  FieldSpec field();

  /** Writes {@link #field()} of all {@code b.size()} examples of {@code b}. */
  void fill(Batch b);

  @Override
  void close();
}
