package io.sluice.limits;

/**
 * One named token-bucket rule: a burst of {@code capacity} tokens, refilled continuously at
 * {@code refillPerSecond}, and optionally an abuse policy that bans repeat offenders.
 * Immutable; validated by {@link LimitsParser}.
 *
 * @param abuse    null when denials never lead to a ban
 * @param shadow   computed and recorded as if enforcing, but never blocks
 * @param adaptive capacity and refill follow the fleet's throttle factor
 */
public record Rule(String name, long capacity, double refillPerSecond, AbusePolicy abuse, boolean shadow, boolean adaptive) {

  public Rule(String name, long capacity, double refillPerSecond) {
    this(name, capacity, refillPerSecond, null, false, false);
  }
}
