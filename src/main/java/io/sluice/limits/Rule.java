package io.sluice.limits;

/**
 * One named token-bucket rule: a burst of {@code capacity} tokens, refilled continuously at
 * {@code refillPerSecond}. Immutable; validated by {@link LimitsParser}.
 */
public record Rule(String name, long capacity, double refillPerSecond) {
}
