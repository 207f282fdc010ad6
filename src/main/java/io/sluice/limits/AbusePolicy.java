package io.sluice.limits;

/**
 * When a rule's denials turn into a ban: {@code maxViolations} denials within {@code windowMs} ban the
 * subject for {@code banMs}; each later ban of the same subject while its history lasts is
 * {@code banMultiplier} times longer, up to {@code maxBanMs} (fail2ban's bantime.increment).
 *
 * @param historyMs how long after a ban ends its escalation level is remembered
 */
public record AbusePolicy(
    int maxViolations,
    long windowMs,
    long banMs,
    double banMultiplier,
    long maxBanMs,
    long historyMs,
    Scope scope) {

  /** What a ban covers. */
  public enum Scope {
    /** Only the action whose rule was abused. */
    ACTION,
    /** Every action of the user. */
    USER;

    /** As written in limits.json and on the wire. */
    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public static final long DEFAULT_WINDOW_MS = 60_000;
  public static final long DEFAULT_BAN_MS = 300_000;
  public static final double DEFAULT_BAN_MULTIPLIER = 2;
  public static final long DEFAULT_MAX_BAN_MS = 86_400_000;
  public static final long DEFAULT_HISTORY_MS = 86_400_000;

  /** The length of the {@code level}-th ban in a row (1-based), capped. */
  public long banMsAtLevel(int level) {
    double ms = banMs * Math.pow(banMultiplier, Math.max(0, level - 1));
    return (long) Math.min(maxBanMs, ms);
  }
}
