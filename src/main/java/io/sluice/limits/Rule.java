package io.sluice.limits;

import io.sluice.config.FailureMode;

/**
 * One named token-bucket rule: a burst of {@code capacity} tokens, refilled continuously at
 * {@code refillPerSecond}, and optionally an abuse policy that bans repeat offenders.
 * Immutable; validated by {@link LimitsParser}.
 *
 * @param abuse    null when denials never lead to a ban
 * @param shadow   computed and recorded as if enforcing, but never blocks
 * @param adaptive capacity and refill follow the fleet's throttle factor
 * @param failureMode what answers while Redis is unavailable; null for the {@code failureMode} setting
 */
public record Rule(String name, long capacity, double refillPerSecond, AbusePolicy abuse, boolean shadow, boolean adaptive,
                   FailureMode failureMode) {

  public Rule(String name, long capacity, double refillPerSecond) {
    this(name, capacity, refillPerSecond, null, false, false, null);
  }

  /** The same rule with capacity and refill scaled by the throttle factor (at least one token). */
  public Rule throttled(double factor) {
    return new Rule(name, Math.max(1, (long) Math.floor(capacity * factor)), refillPerSecond * factor, abuse, shadow, adaptive,
        failureMode);
  }
}
