package io.sluice.limits;

import java.util.List;

/** A limits document that was rejected whole; each problem names the field, the value and what was expected. */
public final class InvalidLimitsException extends RuntimeException {

  private final List<String> problems;

  public InvalidLimitsException(String source, List<String> problems) {
    super("invalid limits from " + source + ": " + String.join("; ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
