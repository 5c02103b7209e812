package org.mimtf.util;

/**
 * A problem the user can fix (a missing artifact, a bad command-line value). The CLI prints its
 * message alone, without a stack trace.
 */
public class UserException extends RuntimeException {
  public UserException(String message) {
    super(message);
  }

  public UserException(String message, Throwable cause) {
    super(message, cause);
  }
}
