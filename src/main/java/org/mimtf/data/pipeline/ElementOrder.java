package org.mimtf.data.pipeline;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.SplittableRandom;
import org.mimtf.util.Seeds;

/**
 * The order in which a shard visits source indices, epoch after epoch: a pure function of (source
 * size, shuffle settings, seed, shard), so any position in the stream can be recomputed on resume.
 *
 * <p>Shuffling follows tf.data: with a buffer smaller than the data set, the epoch order is that of
 * {@code Dataset.shuffle(buffer)} run over the indices in order (a uniform draw from the buffer,
 * refilled from the input); with buffer 0 or at least the size, the epoch is a uniform permutation.
 * Sharding then keeps every {@code count}-th position starting at {@code index}, and drops the
 * remainder so that every shard has the same number of elements per epoch (data-parallel workers
 * must take the same number of steps).
 */
final class ElementOrder {
  private final int sourceSize;
  private final boolean shuffle;
  private final int buffer;
  private final long seed;
  private final int shardIndex;
  private final int shardCount;
  private final int perEpoch;
  private long cachedEpoch = -1;
  private int[] cachedOrder;

  ElementOrder(int sourceSize, boolean shuffle, int buffer, long seed, int shardIndex, int shardCount) {
    checkArgument(shardCount >= 1 && shardIndex >= 0 && shardIndex < shardCount,
        "shard index (%s) must be in [0, count = %s)", shardIndex, shardCount);
    checkArgument(sourceSize >= shardCount, "data source has %s examples, fewer than the %s shards",
        sourceSize, shardCount);
    this.sourceSize = sourceSize;
    this.shuffle = shuffle;
    this.buffer = buffer;
    this.seed = seed;
    this.shardIndex = shardIndex;
    this.shardCount = shardCount;
    this.perEpoch = sourceSize / shardCount;
  }

  /** Elements per epoch in this shard. */
  int perEpoch() {
    return perEpoch;
  }

  long epochOf(long element) {
    return element / perEpoch;
  }

  /** Source index of the {@code element}-th element of this shard's stream. */
  synchronized int sourceIndex(long element) {
    long epoch = element / perEpoch;
    int pos = (int) (element % perEpoch);
    if (epoch != cachedEpoch) {
      cachedOrder = epochOrder(epoch);
      cachedEpoch = epoch;
    }
    return cachedOrder[pos * shardCount + shardIndex];
  }

  /** The full (unsharded) order of one epoch. */
  int[] epochOrder(long epoch) {
    int[] order = new int[sourceSize];
    for (int i = 0; i < sourceSize; i++) {
      order[i] = i;
    }
    if (!shuffle) {
      return order;
    }
    SplittableRandom rng = Seeds.stream(seed, 0x5eed0f0dL, epoch);
    if (buffer <= 0 || buffer >= sourceSize) {
      Seeds.shuffle(order, rng);
      return order;
    }
    // tf.data ShuffleDataset over the index stream 0, 1, 2, ...
    int[] buf = new int[buffer];
    int filled = 0;
    int next = 0;
    while (filled < buffer) {
      buf[filled++] = next++;
    }
    for (int out = 0; out < sourceSize; out++) {
      int j = rng.nextInt(filled);
      order[out] = buf[j];
      if (next < sourceSize) {
        buf[j] = next++;
      } else {
        buf[j] = buf[--filled];
      }
    }
    return order;
  }
}
