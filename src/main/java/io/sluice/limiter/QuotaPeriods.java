package io.sluice.limiter;

import io.sluice.limits.QuotaPolicy;

import java.util.HashMap;
import java.util.Map;

/**
 * The arguments a calendar quota adds to a check's script call (lua/token_bucket.lua, lua/give_back.lua):
 * its limit, the first instants of the periods around now, the test offset and whether a refusal
 * counts toward a ban. The calendar is computed once per period and quota, not per check. One per
 * event loop.
 */
final class QuotaPeriods {

  /** Quotas whose periods are kept; a live change makes new ones, and the old are dropped past this many. */
  private static final int MAX_KEPT = 64;

  private final QuotaClock clock;
  private final Map<QuotaPolicy, long[]> periods = new HashMap<>();

  QuotaPeriods(QuotaClock clock) {
    this.clock = clock;
  }

  /** {@code args} followed by the 7 arguments of {@code quota} in a check's (or a settlement's) script call. */
  Object[] after(Object[] args, QuotaPolicy quota) {
    long[] starts = startsAround(quota);
    return append(args, quota.limit(), starts[0], starts[1], starts[2], starts[3], clock.offsetMs().getAsLong(),
        quota.countsTowardBans() ? "1" : "0");
  }

  /** {@code args} followed by the 5 of a give-back of the quota's use: the periods and the offset. */
  Object[] afterForGiveBack(Object[] args, QuotaPolicy quota) {
    long[] starts = startsAround(quota);
    return append(args, starts[0], starts[1], starts[2], starts[3], clock.offsetMs().getAsLong());
  }

  private static Object[] append(Object[] args, Object... more) {
    Object[] all = java.util.Arrays.copyOf(args, args.length + more.length);
    System.arraycopy(more, 0, all, args.length, more.length);
    return all;
  }

  private long[] startsAround(QuotaPolicy quota) {
    long now = clock.nowMs();
    long[] starts = periods.get(quota);
    // Still this instance's period: [starts[1], starts[2]).
    if (starts == null || now < starts[1] || now >= starts[2]) {
      if (periods.size() >= MAX_KEPT) {
        periods.clear();
      }
      starts = quota.periodsAround(now);
      periods.put(quota, starts);
    }
    return starts;
  }
}
