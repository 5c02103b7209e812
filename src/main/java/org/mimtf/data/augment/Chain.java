package org.mimtf.data.augment;

import com.google.common.collect.ImmutableList;
import java.util.List;
import java.util.random.RandomGenerator;
import org.mimtf.data.Image;

/**
 * Ops applied in sequence with one generator (torchvision {@code Compose}). Because every op draws
 * from the same {@code rng} in a fixed order, a chain is reproducible for a given generator state.
 *
 * <p>{@link #geometric()} and {@link #photometric()} split a chain whose geometric ops come first
 * (as {@link Augmentations#buildAll} guarantees) so that a view with {@code geometry_from} can reuse
 * another view's geometric output and run only its own photometric part.
 */
public final class Chain implements Augmentation {
  private final ImmutableList<Augmentation> ops;

  private Chain(List<Augmentation> ops) {
    this.ops = ImmutableList.copyOf(ops);
  }

  public static Chain of(List<? extends Augmentation> ops) {
    return new Chain(ImmutableList.copyOf(ops));
  }

  public static Chain of(Augmentation... ops) {
    return new Chain(ImmutableList.copyOf(ops));
  }

  @Override
  public Image apply(Image in, RandomGenerator rng) {
    Image img = in;
    // An image created by an earlier op of this chain is private to the chain and may be modified in
    // place; the chain's input (possibly shared with other views) never is.
    boolean owned = false;
    for (Augmentation op : ops) {
      if (owned && op instanceof InPlaceOp inPlace) {
        inPlace.applyInPlace(img, rng);
      } else {
        Image out = op.apply(img, rng);
        owned |= out != img;
        img = out;
      }
    }
    return img;
  }

  /** True when every op is geometric (vacuously for the empty chain). */
  @Override
  public boolean isGeometric() {
    for (Augmentation op : ops) {
      if (!op.isGeometric()) {
        return false;
      }
    }
    return true;
  }

  public List<Augmentation> ops() {
    return ops;
  }

  /** The leading geometric ops. */
  public Chain geometric() {
    return new Chain(ops.subList(0, geometricPrefixLength()));
  }

  /** Everything after the leading geometric ops. */
  public Chain photometric() {
    return new Chain(ops.subList(geometricPrefixLength(), ops.size()));
  }

  private int geometricPrefixLength() {
    int n = 0;
    while (n < ops.size() && ops.get(n).isGeometric()) {
      n++;
    }
    return n;
  }

  @Override
  public String toString() {
    return "Chain" + ops;
  }
}
