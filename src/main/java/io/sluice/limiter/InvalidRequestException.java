package io.sluice.limiter;

/** A request that cannot be served as asked (a field out of range); nothing was read from or written to Redis. */
public final class InvalidRequestException extends RuntimeException {

  private final String field;

  public InvalidRequestException(String field, String message) {
    super(message, null, false, false);
    this.field = field;
  }

  /** The request field at fault, named as on the wire ({@code user_id}, {@code action}, {@code cost}, ...). */
  public String field() {
    return field;
  }
}
