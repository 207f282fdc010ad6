package io.sluice.redis;

import java.util.Locale;

/**
 * A Redis answer that no failure mode may hide: Redis is there, but the check cannot be decided.
 * The caller gets an error (never a degraded ALLOW), and the fault is counted and logged by kind.
 */
public enum RedisFault {
  /** The Lua script raised an error. */
  SCRIPT,
  /** A key holds a value of the wrong type (something else wrote it). */
  WRONGTYPE,
  /** A reply that Sluice could not read as the script's contract says. */
  REPLY,
  /** Any other error reply. */
  ERROR;

  /** The {@code kind} label of the error metric. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Classifies an error reply that is not about availability. */
  static RedisFault of(RedisError error) {
    String prefix = error.prefix();
    if ("WRONGTYPE".equals(prefix) || error.message().contains("WRONGTYPE")) {
      return WRONGTYPE;
    }
    if (error.message().contains("script") || error.message().contains("@user_script")) {
      return SCRIPT;
    }
    return ERROR;
  }
}
