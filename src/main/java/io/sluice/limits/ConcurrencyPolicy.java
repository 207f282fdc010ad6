package io.sluice.limits;

/**
 * A rule's limit on work in progress: at most {@code maxInFlight} leases of one user held at once,
 * across the fleet (RateLimiter/Acquire, Release); a lease not released ends after {@code leaseMs}.
 */
public record ConcurrencyPolicy(int maxInFlight, long leaseMs) {

  /** A user's leases are one sorted set in Redis: bounded, so that pruning one never stalls Redis for everyone. */
  public static final int MAX_IN_FLIGHT = 10_000;
  public static final long MAX_LEASE_SECONDS = 86_400;
}
