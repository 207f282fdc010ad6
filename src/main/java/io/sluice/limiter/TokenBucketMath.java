package io.sluice.limiter;

/**
 * The arithmetic of {@code lua/token_bucket.lua}, for the two places that answer without Redis: the
 * local buckets of the {@code local} failure mode and the cache of certain refusals. One copy, the
 * script's rounding: an answer from memory reads as the one Redis would have given.
 */
final class TokenBucketMath {

  /** As the script's EPSILON: a bucket that holds 2.9999999999 tokens holds 3. */
  static final double EPSILON = 1e-9;

  private TokenBucketMath() {
  }

  /** What a bucket holds after {@code elapsedSeconds} of refill, never above its capacity. */
  static double refilled(double tokens, double capacity, double refillPerSecond, double elapsedSeconds) {
    return Math.min(capacity, tokens + Math.max(0, elapsedSeconds) * refillPerSecond);
  }

  /** Whether a bucket holding {@code tokens} can give {@code cost}. */
  static boolean holds(double tokens, long cost) {
    return tokens + EPSILON >= cost;
  }

  /** How long until {@code missingTokens} more are there: 0 when none are missing. */
  static long msUntil(double missingTokens, double refillPerSecond) {
    return missingTokens <= EPSILON ? 0 : (long) Math.ceil(missingTokens * 1000 / refillPerSecond);
  }

  /** The whole tokens a bucket holds, as {@code remaining} reports them. */
  static long whole(double tokens) {
    return (long) Math.floor(Math.max(0, tokens) + EPSILON);
  }
}
