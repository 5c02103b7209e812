package org.mimtf.config;

import com.google.common.collect.ImmutableList;
import java.util.List;

/**
 * A recipe that cannot be used: a syntax error, an unknown field, a bad override, or values that do not
 * fit together. Every problem names the file (with line and column where the parser knows them) or the
 * field path as written in the pbtxt, shows the bad value, and says what was expected.
 */
public final class RecipeException extends RuntimeException {
  private final ImmutableList<String> problems;

  public RecipeException(String source, List<String> problems) {
    super(format(source, problems));
    this.problems = ImmutableList.copyOf(problems);
  }

  public RecipeException(String source, String problem) {
    this(source, List.of(problem));
  }

  /** The individual problems, each one line. */
  public ImmutableList<String> problems() {
    return problems;
  }

  private static String format(String source, List<String> problems) {
    if (problems.size() == 1) {
      return source + ": " + problems.get(0);
    }
    StringBuilder sb = new StringBuilder(source).append(": ").append(problems.size()).append(" problems");
    for (String p : problems) {
      sb.append("\n  - ").append(p);
    }
    return sb.toString();
  }
}
