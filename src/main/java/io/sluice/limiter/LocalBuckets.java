package io.sluice.limiter;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The buckets of the {@code local} failure mode: an in-process token bucket per (user, bucket) that
 * this instance alone fills and drains while Redis is unavailable. Each gets the rule's capacity
 * and refill divided by the live instances, so that the fleet together allows about what the one
 * Redis bucket would. Plain Java with an explicit clock, so it is tested alone.
 *
 * <p>Shared by every event loop of the process. Bounded: past {@link #MAX_BUCKETS} buckets, idle
 * ones are dropped; a dropped bucket comes back full. Buckets are kept after Redis returns, so an
 * outage that flaps does not hand out a fresh share each time.
 */
public final class LocalBuckets {

  public static final int MAX_BUCKETS = 200_000;

  /** What a local bucket answered. */
  public record Take(boolean allowed, long remaining, long retryAfterMs, long resetAfterMs) {
  }

  private static final class Bucket {
    double tokens;
    long updatedNanos;

    Bucket(double tokens, long updatedNanos) {
      this.tokens = tokens;
      this.updatedNanos = updatedNanos;
    }
  }

  private record Key(String userId, String bucket) {
  }

  private final Map<Key, Bucket> buckets = new ConcurrentHashMap<>();

  /**
   * Takes {@code cost} tokens if they are there. A share below one token still holds one (refilled
   * at the share of the rate): a rule with fewer tokens than instances admits a trickle rather than
   * nothing, at the price of a fleet-wide burst of one request per instance.
   *
   * @param share           this instance's share of the rule's capacity (may be fractional)
   * @param refillPerSecond this instance's share of the rule's refill
   */
  public Take take(String userId, String bucketName, double share, double refillPerSecond, long cost, long nowNanos) {
    double capacity = Math.max(share, 1);
    Key key = new Key(userId, bucketName);
    Bucket bucket = buckets.get(key);
    if (bucket == null) {
      if (buckets.size() >= MAX_BUCKETS) {
        evictIdle(nowNanos);
      }
      bucket = buckets.computeIfAbsent(key, k -> new Bucket(capacity, nowNanos));
    }
    synchronized (bucket) {
      double elapsedSeconds = Math.max(0, nowNanos - bucket.updatedNanos) / 1e9;
      double tokens = Math.min(capacity, bucket.tokens + elapsedSeconds * refillPerSecond);
      bucket.updatedNanos = nowNanos;
      boolean allowed = tokens + 1e-9 >= cost;
      if (allowed) {
        tokens -= cost;
      }
      bucket.tokens = tokens;
      long retryAfterMs = allowed ? 0 : (long) Math.ceil((cost - tokens) * 1000 / refillPerSecond);
      long resetAfterMs = (long) Math.ceil(Math.max(0, capacity - tokens) * 1000 / refillPerSecond);
      return new Take(allowed, (long) Math.floor(Math.max(0, tokens) + 1e-9), retryAfterMs, resetAfterMs);
    }
  }

  /** Drops buckets idle for a minute, and every bucket if that frees nothing: a flood of users must not grow memory without end. */
  private void evictIdle(long nowNanos) {
    buckets.entrySet().removeIf(entry -> nowNanos - entry.getValue().updatedNanos > 60_000_000_000L);
    if (buckets.size() >= MAX_BUCKETS) {
      buckets.clear();
    }
  }

  public int size() {
    return buckets.size();
  }
}
