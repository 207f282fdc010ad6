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

  /**
   * The node is a replica now (a failover demoted it). Redis 7 answers {@code READONLY}; Redis 6
   * raises it inside the script, so it arrives wrapped in {@code ERR Error running script}.
   */
  public boolean readOnly() {
    return message.startsWith("READONLY") || message.contains("READONLY You can't write");
  }

  /** Redis cannot serve now (loading, busy with a script, out of memory, cluster down): availability, not a fault. */
  public boolean cannotServe() {
    return switch (prefix()) {
      case "LOADING", "BUSY", "OOM", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS" -> true;
      default -> message.contains("OOM command not allowed");
    };
  }

  @Override
  public String toString() {
    return message;
  }
}
