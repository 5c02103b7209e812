package org.mimtf.data.pipeline;

import java.util.List;
import java.util.random.RandomGenerator;
import org.mimtf.data.source.Record;

/**
 * The per-example work of the pipeline (the function of tf.data's {@code map}): decode, make views,
 * draw masks, and write the results into one slot of a batch.
 *
 * <p>Called concurrently from several worker threads, each on its own slot; implementations must not
 * share mutable state between calls except through thread-safe objects.
 */
public interface SampleProcessor {
  /** The fields this processor writes, in a stable order. */
  List<FieldSpec> fields();

  /**
   * Processes {@code record} into slot {@code slot} of {@code batch}, drawing all randomness from
   * {@code rng} (a stream private to this example).
   *
   * @throws org.mimtf.data.BadInputException if the record is unusable
   */
  void process(Record record, RandomGenerator rng, Batch batch, int slot);
}
