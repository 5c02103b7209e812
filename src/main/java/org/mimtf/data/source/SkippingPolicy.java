package org.mimtf.data.source;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.concurrent.atomic.AtomicInteger;
import org.mimtf.config.proto.SourceConfig;
import org.mimtf.data.BadInputException;

/**
 * What the pipeline does with an unusable example ({@code source.on_error}, {@code
 * source.max_skipped}): stop, or warn and skip a bounded number.
 *
 * <p>Large scraped data sets always contain a few broken files, and stopping a day-long run for one
 * of them is wrong; but silently dropping thousands would hide a broken data set or a decoder bug.
 * So skipping is bounded: every skip is logged with the file and offset, and once more than {@code
 * max_skipped} examples were skipped the policy fails anyway, with the last bad input as the cause.
 *
 * <p>Use: the pipeline catches {@link BadInputException} around read + decode of one example and
 * calls {@link #onBadInput}; if that returns, it drops the example (or reads a replacement). The
 * method fits {@code Pipeline.BadInputPolicy} as a method reference ({@code policy::onBadInput}).
 * Thread-safe: workers call it concurrently.
 */
public final class SkippingPolicy {
  private static final System.Logger LOG = System.getLogger(SkippingPolicy.class.getName());

  private final boolean skip;
  private final int maxSkipped;
  private final String field;
  private final AtomicInteger skipped = new AtomicInteger();

  private SkippingPolicy(boolean skip, int maxSkipped, String field) {
    this.skip = skip;
    this.maxSkipped = maxSkipped;
    this.field = field;
  }

  /** Stops at the first bad input ({@code on_error: FAIL}). */
  public static SkippingPolicy failFast() {
    return new SkippingPolicy(false, 0, "data.source");
  }

  /** Skips up to {@code maxSkipped} bad inputs, then fails ({@code on_error: SKIP}). */
  public static SkippingPolicy skipUpTo(int maxSkipped) {
    return skipUpTo(maxSkipped, "data.source");
  }

  private static SkippingPolicy skipUpTo(int maxSkipped, String field) {
    checkArgument(maxSkipped >= 0, "%s.max_skipped (%s) must be >= 0", field, maxSkipped);
    return new SkippingPolicy(true, maxSkipped, field);
  }

  /**
   * The policy {@code cfg} asks for; {@code field} is its recipe path, e.g. {@code data.source}.
   */
  public static SkippingPolicy of(SourceConfig cfg, String field) {
    return switch (cfg.getOnError()) {
      case FAIL -> new SkippingPolicy(false, 0, field);
      case SKIP -> skipUpTo(cfg.getMaxSkipped(), field);
    };
  }

  /** {@link #of(SourceConfig, String)} for {@code data.source}. */
  public static SkippingPolicy of(SourceConfig cfg) {
    return of(cfg, "data.source");
  }

  /**
   * Records a bad example: returns if it may be skipped, else throws.
   *
   * @throws BadInputException {@code e} itself under FAIL; under SKIP, once more than {@code
   *     max_skipped} were skipped, a new one that says so and has {@code e} as its cause
   */
  public void onBadInput(BadInputException e) {
    if (!skip) {
      throw e;
    }
    int n = skipped.incrementAndGet();
    if (n > maxSkipped) {
      throw new BadInputException(
          e.origin(),
          "too many bad inputs: "
              + n
              + " skipped, more than "
              + field
              + ".max_skipped ("
              + maxSkipped
              + "); the last one: "
              + e.getMessage(),
          e);
    }
    LOG.log(
        System.Logger.Level.WARNING,
        () -> "skipping bad input (" + n + " of at most " + maxSkipped + "): " + e.getMessage());
  }

  /** Whether bad inputs are skipped (SKIP) rather than fatal (FAIL). */
  public boolean skips() {
    return skip;
  }

  /** The most bad inputs skipped before failing (0 under FAIL). */
  public int maxSkipped() {
    return maxSkipped;
  }

  /** Bad inputs seen so far (including one that made {@link #onBadInput} fail). */
  public int skipped() {
    return skipped.get();
  }

  @Override
  public String toString() {
    return skip ? "SKIP (at most " + maxSkipped + ", " + skipped() + " so far)" : "FAIL";
  }
}
