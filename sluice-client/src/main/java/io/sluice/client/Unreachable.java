package io.sluice.client;

import io.sluice.grpc.v1.Decision;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a backend answers when no Sluice instance answered a check within its deadline (all down,
 * the network cut, every instance overloaded). The caller chooses per client; each such answer is
 * counted ({@link RateLimitClient#unreachableAnswers()}). There is no right default for every
 * endpoint: a login page that is down because its rate limiter is hurts more than a few unlimited
 * attempts, a payment endpoint the other way round.
 */
public abstract sealed class Unreachable {

  /** Go ahead, unlimited, until Sluice answers again. */
  public static Unreachable allow() {
    return new Allow();
  }

  /** Refuse, asking the caller to retry after {@code retryAfter}. */
  public static Unreachable deny(Duration retryAfter) {
    return new Deny(retryAfter.toMillis());
  }

  /**
   * A token bucket of this process's own per user and action ({@code capacity} tokens, refilled at
   * {@code refillPerSecond}): a rough limit meanwhile, per process, not per fleet. At most
   * {@code maxKeys} buckets are kept, the least recently used dropped.
   */
  public static Unreachable localLimit(long capacity, double refillPerSecond, int maxKeys) {
    if (capacity < 1 || refillPerSecond <= 0 || maxKeys < 1) {
      throw new IllegalArgumentException("capacity >= 1, refillPerSecond > 0 and maxKeys >= 1 are needed, were " + capacity + ", "
          + refillPerSecond + ", " + maxKeys);
    }
    return new Local(capacity, refillPerSecond, maxKeys);
  }

  abstract Verdict decide(String user, String action, long cost, long nowNanos);

  static final class Allow extends Unreachable {
    @Override
    Verdict decide(String user, String action, long cost, long nowNanos) {
      return new Verdict(Decision.ALLOW, 0, 0, 0, 0, 0, "", null, "");
    }
  }

  static final class Deny extends Unreachable {
    private final long retryAfterMs;

    Deny(long retryAfterMs) {
      this.retryAfterMs = retryAfterMs;
    }

    @Override
    Verdict decide(String user, String action, long cost, long nowNanos) {
      return new Verdict(Decision.DENY, 0, 0, retryAfterMs, retryAfterMs, 0, "", null, "");
    }
  }

  static final class Local extends Unreachable {
    private final long capacity;
    private final double refillPerSecond;
    /** Per user and action: tokens, and when they were counted (nanos). Access order: the eldest is the least recently used. */
    private final Map<String, double[]> buckets;

    Local(long capacity, double refillPerSecond, int maxKeys) {
      this.capacity = capacity;
      this.refillPerSecond = refillPerSecond;
      this.buckets = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, double[]> eldest) {
          return size() > maxKeys;
        }
      };
    }

    @Override
    synchronized Verdict decide(String user, String action, long cost, long nowNanos) {
      double[] bucket = buckets.computeIfAbsent(user + '\n' + action, key -> new double[] {capacity, nowNanos});
      double tokens = Math.min(capacity, bucket[0] + (nowNanos - bucket[1]) / 1e9 * refillPerSecond);
      bucket[1] = nowNanos;
      if (tokens >= cost) {
        bucket[0] = tokens - cost;
        long resetMs = (long) Math.ceil((capacity - bucket[0]) / refillPerSecond * 1000);
        return new Verdict(Decision.ALLOW, capacity, (long) Math.floor(bucket[0]), 0, resetMs, refillPerSecond, "", null, "");
      }
      bucket[0] = tokens;
      long resetMs = (long) Math.ceil((capacity - tokens) / refillPerSecond * 1000);
      long retryMs = (long) Math.ceil((cost - tokens) / refillPerSecond * 1000);
      return new Verdict(Decision.DENY, capacity, 0, retryMs, resetMs, refillPerSecond, "", null, "");
    }
  }
}
