package io.sluice.limiter;

import io.sluice.limits.Rule;

/**
 * {@code lua/fixed_window.lua}'s wire format, beside the script's header: envoyproxy/ratelimit's
 * counting for Envoy rules run with {@code envoyAlgorithm: fixed_window}. Change the two together.
 */
final class FixedWindowScript {

  private FixedWindowScript() {
  }

  /** ARGV: the limit (for operators reading the call), the window's length, and the hits to add (0 reads). */
  static Object[] args(Rule rule, long windowSeconds, long hits) {
    return new Object[] {rule.capacity(), windowSeconds, hits};
  }

  /**
   * The reply: { count, seconds_until_the_window_ends, ms_until_the_window_ends }.
   *
   * @param count           the window's count after this call's hits
   * @param untilResetSeconds what envoyproxy/ratelimit reports as duration_until_reset (1..unit)
   * @param untilResetMs    the same to the millisecond: how long a refusal is certain to hold
   */
  record Reply(long count, long untilResetSeconds, long untilResetMs) {

    static Reply decode(Object[] reply) {
      return new Reply((Long) reply[0], (Long) reply[1], (Long) reply[2]);
    }
  }
}
