package org.mimtf.data;

/**
 * Input data that cannot be used: a corrupt or truncated image, a TFRecord with a bad CRC, a label out
 * of range, a missing file. The message always names the file (and the record offset where there is
 * one), so that a user can find and fix the bad item.
 */
public class BadInputException extends RuntimeException {
  private final String origin;

  public BadInputException(String origin, String problem) {
    super(origin + ": " + problem);
    this.origin = origin;
  }

  public BadInputException(String origin, String problem, Throwable cause) {
    super(origin + ": " + problem, cause);
    this.origin = origin;
  }

  /** Where the bad input is: a path, optionally followed by {@code @offset} or {@code #index}. */
  public String origin() {
    return origin;
  }
}
