package io.sluice.limits;

import io.sluice.config.FailureMode;

/**
 * One named token-bucket rule: a burst of {@code capacity} tokens, refilled continuously at
 * {@code refillPerSecond}, and optionally an abuse policy that bans repeat offenders.
 * Immutable; validated by {@link LimitsParser}.
 *
 * @param abuse       null when denials never lead to a ban
 * @param shadow      computed and recorded as if enforcing, but never blocks
 * @param adaptive    capacity and refill follow the fleet's throttle factor
 * @param failureMode what answers while Redis is unavailable; null for the {@code failureMode} setting
 * @param overridable users may be given numbers of their own (Admin/SetOverride), which its checks read in Redis
 * @param concurrency null, or the leases of one user it lets be held at once (RateLimiter/Acquire)
 * @param quota       null, or the tokens a user may take per calendar period, besides the bucket (both or neither)
 */
public record Rule(String name, long capacity, double refillPerSecond, AbusePolicy abuse, boolean shadow, boolean adaptive,
                   FailureMode failureMode, boolean overridable, ConcurrencyPolicy concurrency, QuotaPolicy quota) {

  public Rule(String name, long capacity, double refillPerSecond, AbusePolicy abuse, boolean shadow, boolean adaptive,
              FailureMode failureMode, boolean overridable, ConcurrencyPolicy concurrency) {
    this(name, capacity, refillPerSecond, abuse, shadow, adaptive, failureMode, overridable, concurrency, null);
  }

  public Rule(String name, long capacity, double refillPerSecond, AbusePolicy abuse, boolean shadow, boolean adaptive,
              FailureMode failureMode) {
    this(name, capacity, refillPerSecond, abuse, shadow, adaptive, failureMode, false, null);
  }

  public Rule(String name, long capacity, double refillPerSecond) {
    this(name, capacity, refillPerSecond, null, false, false, null);
  }

  /** The same rule with capacity and refill scaled by the throttle factor (at least one token). */
  public Rule throttled(double factor) {
    return withNumbers(Math.max(1, (long) Math.floor(capacity * factor)), refillPerSecond * factor);
  }

  /** The same rule with other numbers: a user's override of them. */
  public Rule withNumbers(long newCapacity, double newRefillPerSecond) {
    return new Rule(name, newCapacity, newRefillPerSecond, abuse, shadow, adaptive, failureMode, overridable, concurrency, quota);
  }

  /**
   * As a record spells it, but {@code overridable} only when true and {@code concurrency} and {@code quota} only when
   * set: the limits' digest is made of these, and limits without the fields keep the digest they had
   * before they existed, so that instances of both builds agree.
   */
  @Override
  public String toString() {
    return "Rule[name=" + name + ", capacity=" + capacity + ", refillPerSecond=" + refillPerSecond + ", abuse=" + abuse + ", shadow="
        + shadow + ", adaptive=" + adaptive + ", failureMode=" + failureMode + (overridable ? ", overridable=true" : "")
        + (concurrency == null ? "" : ", concurrency=" + concurrency) + (quota == null ? "" : ", quota=" + quota) + "]";
  }
}
