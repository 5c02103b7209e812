package org.mimtf.data.pipeline;

import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.mimtf.data.BadInputException;
import org.mimtf.data.Image;
import org.mimtf.data.source.Record;
import org.mimtf.data.source.Source;

/**
 * An in-memory {@link Source} of {@code size} decoded 2x2x1 images whose pixels encode the example
 * index: pixel k of example i is {@code i + k / 4} (exact in float32 for the sizes used in tests),
 * label {@code i % 10}. Indices in {@code bad} throw {@link BadInputException} with origin {@code
 * mem#i}. Counts reads per index and how many reads are running right now.
 */
final class IndexedSource implements Source {
  static final int H = 2;
  static final int W = 2;

  private final int size;
  private final Set<Integer> bad;
  private final long busyNanos;
  private final AtomicIntegerArray reads;
  final AtomicInteger active = new AtomicInteger();
  final AtomicInteger maxActive = new AtomicInteger();
  volatile boolean closed;

  IndexedSource(int size) {
    this(size, Set.of(), 0);
  }

  IndexedSource(int size, Set<Integer> bad) {
    this(size, bad, 0);
  }

  /** {@code busyNanos}: each read spins that long without looking at interrupts (a slow decode). */
  IndexedSource(int size, Set<Integer> bad, long busyNanos) {
    this.size = size;
    this.bad = Set.copyOf(bad);
    this.busyNanos = busyNanos;
    this.reads = new AtomicIntegerArray(size);
  }

  static String origin(int index) {
    return "mem#" + index;
  }

  /** The index encoded in an image written by {@link #read} (its first pixel). */
  static int indexOf(float firstPixel) {
    return (int) firstPixel;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public Record read(int index) {
    if (index < 0 || index >= size) {
      throw new IndexOutOfBoundsException("index " + index + " of " + size);
    }
    int now = active.incrementAndGet();
    maxActive.accumulateAndGet(now, Math::max);
    try {
      if (closed) {
        throw new IllegalStateException("read from a closed source");
      }
      reads.incrementAndGet(index);
      if (busyNanos > 0) {
        long end = System.nanoTime() + busyNanos;
        while (System.nanoTime() < end) {
          Thread.onSpinWait();
        }
      }
      if (bad.contains(index)) {
        throw new BadInputException(origin(index), "corrupt test image");
      }
      float[] px = new float[H * W];
      for (int k = 0; k < px.length; k++) {
        px[k] = index + k / 4f;
      }
      return Record.decoded(index, origin(index), Image.wrap(H, W, 1, px), index % 10);
    } finally {
      active.decrementAndGet();
    }
  }

  int reads(int index) {
    return reads.get(index);
  }

  @Override
  public int numClasses() {
    return 10;
  }

  @Override
  public String describe() {
    return "indexed test source, " + size + " examples";
  }

  @Override
  public void close() {
    closed = true;
  }
}
