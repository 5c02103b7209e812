package org.mimtf.data.pipeline;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.mimtf.data.BadInputException;
import org.mimtf.data.source.Record;
import org.mimtf.data.source.Source;
import org.mimtf.util.Seeds;

/**
 * The shared input pipeline: {@code source -> shuffle -> shard -> map (N workers) -> batch -> prefetch},
 * yielding {@link Batch}es whose arrays are laid out as the TF tensors they become. Each epoch's order
 * is drawn from the seed alone and then split by {@link ElementOrder}, so shards that share the seed
 * are disjoint in every epoch.
 *
 * <p>Determinism: example {@code i} of epoch {@code e} is processed with a random stream derived from
 * (seed, e, i) only, and batches are assembled in stream order, so the output is identical for a given
 * seed whatever the worker count, and a pipeline started at {@link #position()} of another continues
 * it exactly (resume).
 *
 * <p>Memory is bounded: at most {@code prefetch + 1} batches are being filled while the consumer holds
 * one. A returned batch stays valid until the next call to {@link #next()}, which may recycle it.
 *
 * <p>Bad input: a {@link BadInputException} from the source or processor stops the pipeline with that
 * exception (it names the file and offset), unless a {@link BadInputPolicy} absorbs it, in which case
 * the slot is refilled with a deterministically chosen replacement example.
 */
public class Pipeline implements Iterator<Batch>, AutoCloseable {
  /** Decides what happens to an unusable example: rethrow to stop, return to skip it. */
  public interface BadInputPolicy {
    void onBadInput(BadInputException e);

    BadInputPolicy FAIL = e -> {
      throw e;
    };
  }

  private static final int MAX_REPLACEMENT_ATTEMPTS = 100;
  /** How long {@link #close()} waits for examples already being processed (one per worker). */
  static final long CLOSE_WAIT_SECONDS = 30;

  private final Source source;
  private final SampleProcessor processor;
  private final PipelineOptions options;
  private final BadInputPolicy badInput;
  private final ElementOrder order;
  private final List<FieldSpec> fields;
  private final ExecutorService workers;
  private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
  private final ArrayDeque<Batch> free = new ArrayDeque<>();
  private final long endElement;
  private final AtomicInteger skipped = new AtomicInteger();
  private long nextToSchedule;
  private long position;
  private Batch current;
  private boolean closed;

  private record InFlight(Batch batch, List<Future<?>> tasks) {}

  public Pipeline(Source source, SampleProcessor processor, PipelineOptions options, BadInputPolicy badInput) {
    this.source = source;
    this.processor = processor;
    this.options = options;
    this.badInput = badInput;
    this.order = new ElementOrder(source.size(), options.shuffle(), options.shuffleBuffer(), options.seed(),
        options.shardIndex(), options.shardCount());
    this.fields = List.copyOf(processor.fields());
    long total = options.epochs() == 0 ? Long.MAX_VALUE : (long) order.perEpoch() * options.epochs();
    if (options.epochs() > 0 && options.dropRemainder()) {
      total -= total % options.batchSize();
    }
    this.endElement = total;
    this.nextToSchedule = options.startElement();
    this.position = options.startElement();
    AtomicInteger n = new AtomicInteger();
    this.workers = Executors.newFixedThreadPool(options.workers(), r -> {
      Thread t = new Thread(r, "mimtf-data-" + n.getAndIncrement());
      t.setDaemon(true);
      return t;
    });
  }

  public Pipeline(Source source, SampleProcessor processor, PipelineOptions options) {
    this(source, processor, options, BadInputPolicy.FAIL);
  }

  /** Fields of every batch. */
  public List<FieldSpec> fields() {
    return fields;
  }

  /** Elements per epoch (in this shard). */
  public int elementsPerEpoch() {
    return order.perEpoch();
  }

  /**
   * Stream position after the batches returned so far: the {@code startElement} that makes a new
   * pipeline continue exactly where this one is.
   */
  public long position() {
    return position;
  }

  /** Epoch of the next element to be returned (0-based). */
  public long epoch() {
    return order.epochOf(position);
  }

  /** Examples replaced because they were unusable (SKIP policy). */
  public int skipped() {
    return skipped.get();
  }

  @Override
  public boolean hasNext() {
    return !closed && position < endElement;
  }

  @Override
  public Batch next() {
    if (!hasNext()) {
      throw new NoSuchElementException("pipeline exhausted at element " + position);
    }
    if (current != null) {
      free.push(current);
      current = null;
    }
    fill();
    InFlight f = inFlight.poll();
    try {
      for (Future<?> t : f.tasks) {
        t.get();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the input pipeline", e);
    } catch (ExecutionException e) {
      close();
      Throwable c = e.getCause();
      if (c instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException("input pipeline failed: " + c, c);
    }
    current = f.batch;
    position = f.batch.firstElement() + f.batch.size();
    fill();
    return current;
  }

  /** Schedules batches until {@code prefetch + 1} are in flight. */
  private void fill() {
    while (inFlight.size() < options.prefetch() + 1 && nextToSchedule < endElement) {
      Batch b = free.isEmpty() ? new Batch(fields, options.batchSize()) : free.pop();
      long first = nextToSchedule;
      int n = (int) Math.min(options.batchSize(), endElement - first);
      b.setFirstElement(first);
      b.setSize(n);
      List<Future<?>> tasks = new ArrayList<>(n);
      for (int slot = 0; slot < n; slot++) {
        long element = first + slot;
        int sourceIndex = order.sourceIndex(element);
        long epoch = order.epochOf(element);
        int s = slot;
        tasks.add(workers.submit(() -> processSlot(b, s, element, epoch, sourceIndex)));
      }
      nextToSchedule = first + n;
      inFlight.add(new InFlight(b, tasks));
    }
  }

  private void processSlot(Batch b, int slot, long element, long epoch, int sourceIndex) {
    int index = sourceIndex;
    for (int attempt = 0; ; attempt++) {
      try {
        Record r = source.read(index);
        SplittableRandom rng = Seeds.stream(options.seed(), epoch, index);
        processor.process(r, rng, b, slot);
        return;
      } catch (BadInputException e) {
        badInput.onBadInput(e);
        skipped.incrementAndGet();
        if (attempt >= MAX_REPLACEMENT_ATTEMPTS) {
          throw new BadInputException(e.origin(), "no usable replacement found after " + attempt + " attempts", e);
        }
        // Deterministic replacement, independent of scheduling.
        index = (int) Long.remainderUnsigned(Seeds.combine(options.seed(), element, attempt + 1), source.size());
      }
    }
  }

  /**
   * Stops the workers: examples not yet started are dropped, running ones are interrupted, and close
   * waits (up to {@link #CLOSE_WAIT_SECONDS} s) until none is still running, so that a caller (or a
   * subclass) may close the source and decoder right after it.
   */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      workers.shutdownNow();
      try {
        workers.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
