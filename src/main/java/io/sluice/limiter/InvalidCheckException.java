package io.sluice.limiter;

/** A check that cannot be decided as asked; nothing was read from or written to Redis. */
public final class InvalidCheckException extends RuntimeException {

  private final String field;

  public InvalidCheckException(String field, String message) {
    super(message, null, false, false);
    this.field = field;
  }

  /** The request field at fault, named as on the wire ({@code user_id}, {@code action}, {@code cost}). */
  public String field() {
    return field;
  }
}
