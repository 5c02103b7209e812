package org.mimtf.data.augment;

import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * An op that can also overwrite the pixels of an image its caller owns. {@link Chain} uses it for
 * images that an earlier op of the same chain created (and that nobody else can see), which saves one
 * 600 KB allocation and one copy per op on a 224² RGB image.
 *
 * <p>{@link #applyInPlace} must draw exactly what {@link #apply} draws and produce exactly its result,
 * so that a chain's output does not depend on which path was taken.
 */
interface InPlaceOp extends Augmentation {
  /**
   * Like {@link #apply}, but writes the result into {@code img}'s pixel array. Returns false, leaving
   * {@code img} untouched, when the op's draw says it does nothing.
   */
  boolean applyInPlace(Image img, RandomGenerator rng);
}
