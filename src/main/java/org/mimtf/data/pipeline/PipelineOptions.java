package org.mimtf.data.pipeline;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * The shape of a pipeline run, tf.data style: {@code shuffle(buffer, seed) -> shard(count, index) ->
 * repeat(epochs) -> map(workers) -> batch(size) -> prefetch(n)}. The shuffle runs over the whole
 * data set and the shard keeps every {@code count}-th element of it, so the shards of one run must
 * share the seed.
 *
 * @param batchSize examples per batch
 * @param workers threads running the per-example map
 * @param prefetch batches prepared ahead of the consumer (memory is bounded by prefetch + 2 batches)
 * @param shuffle whether to shuffle each epoch
 * @param shuffleBuffer tf.data shuffle buffer; 0 or >= the data size shuffles the whole epoch
 * @param seed seeds shuffling and every per-example random draw (the same on every shard)
 * @param shardIndex this shard's index, for multi-worker training
 * @param shardCount number of shards
 * @param epochs passes over the data; 0 repeats forever
 * @param dropRemainder drop a final partial batch of a finite run
 * @param startElement position in the element stream to start from (resume)
 */
public record PipelineOptions(
    int batchSize,
    int workers,
    int prefetch,
    boolean shuffle,
    int shuffleBuffer,
    long seed,
    int shardIndex,
    int shardCount,
    int epochs,
    boolean dropRemainder,
    long startElement) {
  public PipelineOptions {
    checkArgument(batchSize >= 1, "batch size (%s) must be >= 1", batchSize);
    checkArgument(workers >= 1, "workers (%s) must be >= 1", workers);
    checkArgument(prefetch >= 0, "prefetch (%s) must be >= 0", prefetch);
    checkArgument(epochs >= 0, "epochs (%s) must be >= 0", epochs);
    checkArgument(startElement >= 0, "start element (%s) must be >= 0", startElement);
  }

  /** Endless shuffled training stream. */
  public static PipelineOptions training(int batchSize, int workers, int prefetch, int shuffleBuffer, long seed) {
    return new PipelineOptions(batchSize, workers, prefetch, true, shuffleBuffer, seed, 0, 1, 0, false, 0);
  }

  /** One ordered pass over the data, last batch possibly partial (evaluation, feature extraction). */
  public static PipelineOptions singlePass(int batchSize, int workers, long seed) {
    return new PipelineOptions(batchSize, workers, 2, false, 0, seed, 0, 1, 1, false, 0);
  }

  public PipelineOptions withStartElement(long element) {
    return new PipelineOptions(batchSize, workers, prefetch, shuffle, shuffleBuffer, seed, shardIndex, shardCount,
        epochs, dropRemainder, element);
  }

  public PipelineOptions withShard(int index, int count) {
    return new PipelineOptions(batchSize, workers, prefetch, shuffle, shuffleBuffer, seed, index, count, epochs,
        dropRemainder, startElement);
  }

  public PipelineOptions withWorkers(int n) {
    return new PipelineOptions(batchSize, n, prefetch, shuffle, shuffleBuffer, seed, shardIndex, shardCount, epochs,
        dropRemainder, startElement);
  }

  public PipelineOptions withEpochs(int n, boolean drop) {
    return new PipelineOptions(batchSize, workers, prefetch, shuffle, shuffleBuffer, seed, shardIndex, shardCount, n,
        drop, startElement);
  }
}
