package io.sluice.redis;

/**
 * An error reply from Redis ({@code -WRONGTYPE ...}, {@code -NOSCRIPT ...}), as a value: it answers
 * one command, and the connection carries on.
 *
 * @param message the whole reply, prefix included
 */
public record RedisError(String message) {

  /** The first word: {@code ERR}, {@code WRONGTYPE}, {@code NOSCRIPT}, {@code MOVED}, {@code READONLY}, ... */
  public String prefix() {
    int space = message.indexOf(' ');
    return space < 0 ? message : message.substring(0, space);
  }

  @Override
  public String toString() {
    return message;
  }
}
