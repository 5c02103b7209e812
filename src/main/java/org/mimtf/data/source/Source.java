package org.mimtf.data.source;

import java.io.Closeable;

/**
 * A random-access collection of labelled images. Random access (rather than a stream) is what makes
 * shuffling, sharding and exact resume cheap: the pipeline works on indices and reads an example only
 * when a worker needs it.
 *
 * <p>Implementations must allow concurrent {@link #read} calls from several worker threads.
 */
public interface Source extends Closeable {
  /** Number of examples. */
  int size();

  /**
   * Reads example {@code index}.
   *
   * @throws org.mimtf.data.BadInputException if the example is unreadable (the message names the
   *     file and offset)
   */
  Record read(int index);

  /**
   * Label of example {@code index}. Sources override this when the label is cheaper than the record
   * (folder names, an IDX labels file); sampling per class uses it.
   */
  default int label(int index) {
    return read(index).label();
  }

  /** Number of classes if known (labels are in [0, numClasses)), else 0. */
  default int numClasses() {
    return 0;
  }

  /** One line for logs and provenance: kind, path, count. */
  String describe();

  @Override
  default void close() {}
}
