package io.sluice.limiter;

/**
 * The buckets of the {@code local} failure mode: an in-process token bucket per (user, bucket) that
 * this instance alone fills and drains while Redis is unavailable. Each gets the rule's capacity
 * and refill divided by the live instances, so that the fleet together allows about what the one
 * Redis bucket would. Plain Java with an explicit clock, so it is tested alone.
 *
 * <p>Shared by every event loop of the process. Bounded by bytes ({@link LruBytes}): a flood of new
 * users pushes out the least recently used buckets, never the busy ones (a user who just drained
 * its bucket keeps it drained); a bucket pushed out comes back full. Buckets are kept after Redis
 * returns, so an outage that flaps does not hand out a fresh share each time.
 */
public final class LocalBuckets {

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

  private final LruBytes<Key, Bucket> buckets;

  public LocalBuckets(long budgetBytes) {
    this.buckets = new LruBytes<>(budgetBytes);
  }

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
      bucket = buckets.putIfAbsent(key, new Bucket(capacity, nowNanos),
          LruBytes.ENTRY_OVERHEAD_BYTES + 64 + LruBytes.stringBytes(userId) + LruBytes.stringBytes(bucketName));
    }
    synchronized (bucket) {
      double tokens = TokenBucketMath.refilled(bucket.tokens, capacity, refillPerSecond, (nowNanos - bucket.updatedNanos) / 1e9);
      bucket.updatedNanos = nowNanos;
      boolean allowed = TokenBucketMath.holds(tokens, cost);
      if (allowed) {
        tokens -= cost;
      }
      bucket.tokens = tokens;
      long retryAfterMs = allowed ? 0 : TokenBucketMath.msUntil(cost - tokens, refillPerSecond);
      return new Take(allowed, TokenBucketMath.whole(tokens), retryAfterMs, TokenBucketMath.msUntil(capacity - tokens, refillPerSecond));
    }
  }

  public int size() {
    return buckets.size();
  }

  /** Its memory, for metrics: estimated bytes held, the budget, and buckets dropped to stay within it. */
  public LruBytes<?, ?> memory() {
    return buckets;
  }
}
