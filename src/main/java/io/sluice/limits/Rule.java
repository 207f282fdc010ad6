package io.sluice.limits;

/**
 * One named token-bucket rule: a burst of {@code capacity} tokens, refilled continuously at
 * {@code refillPerSecond}, and optionally an abuse policy that bans repeat offenders.
 * Immutable; validated by {@link LimitsParser}.
 *
 * @param abuse null when denials never lead to a ban
 */
public record Rule(String name, long capacity, double refillPerSecond, AbusePolicy abuse) {

  public Rule(String name, long capacity, double refillPerSecond) {
    this(name, capacity, refillPerSecond, null);
  }
}
