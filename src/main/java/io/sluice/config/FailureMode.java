package io.sluice.config;

import java.util.Locale;

/**
 * What a check is answered when Redis is really unavailable (breaker open, no connection, no answer
 * in time). Set per rule ({@code failureMode} in limits.json) or for every rule (the
 * {@code failureMode} setting). The answer is always marked degraded.
 */
public enum FailureMode {
  /** ALLOW: a Redis outage adds no outage to the backends, and no limit holds meanwhile. */
  OPEN,
  /** DENY, with a retry_after_ms that points at the next recovery probe: nothing unchecked gets through. */
  CLOSED,
  /**
   * An in-process token bucket per instance with the rule's capacity and refill divided by the live
   * instances: the limit holds roughly, fleet-wide, while Redis is away.
   */
  LOCAL;

  /** As written in settings and limits.json. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * Parses a failure mode; {@code allow} and {@code deny}, the names of the first releases, still
   * mean {@code open} and {@code closed}.
   *
   * @return null when {@code value} names none
   */
  public static FailureMode parse(Object value) {
    if (!(value instanceof String text)) {
      return null;
    }
    return switch (text.toLowerCase(Locale.ROOT)) {
      case "open", "allow" -> OPEN;
      case "closed", "deny" -> CLOSED;
      case "local" -> LOCAL;
      default -> null;
    };
  }
}
