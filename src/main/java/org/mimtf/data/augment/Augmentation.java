package org.mimtf.data.augment;

import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * One augmentation op: maps an image to a new one, drawing whatever randomness it needs from {@code
 * rng}.
 *
 * <p>Contract:
 *
 * <ul>
 *   <li><b>No hidden randomness.</b> Every random draw comes from {@code rng}. The pipeline passes a
 *       generator derived from (seed, epoch, example index), so a sample's augmentation is the same
 *       whatever the number of workers or the order in which they run.
 *   <li><b>Inputs are never modified.</b> An op returns either a new image that nobody else holds or,
 *       when it does nothing (for example a flip that was not drawn), the input itself. Views that
 *       share geometry feed the same intermediate image to several photometric chains, so mutation
 *       would leak between views. ({@link Chain} relies on "new image" meaning "private": it then lets
 *       later ops of the chain work in place.)
 *   <li><b>Geometric vs photometric.</b> Geometric ops (crop, resize, flip) move pixels; photometric
 *       ops change values in place. A view with {@code geometry_from} starts from another view's image
 *       after that view's geometric ops, which is only meaningful if geometric ops come first ({@link
 *       Augmentations#buildAll} enforces it).
 * </ul>
 */
public interface Augmentation {
  Image apply(Image in, RandomGenerator rng);

  /** True for ops that move pixels (crop, resize, flip); false for ops that only change values. */
  boolean isGeometric();
}
