package io.sluice.limiter;

import io.sluice.limits.Limits;
import io.sluice.limits.LimitsParser;
import io.sluice.limits.Rule;
import io.sluice.limits.TierChoice;
import io.sluice.redis.RedisFault;
import io.sluice.redis.RedisFaults;
import io.sluice.redis.RedisKeys;
import io.sluice.redis.Unavailable;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;

/**
 * Settled costs, as policy: RateLimiter/Adjust takes from (or gives back to) the bucket, and the
 * quota, of a user's rule what the work really cost beyond what its check took (lua/adjust.lua, one
 * atomic call). An adjustment id makes a retry harmless. One per Limiter, on its event loop.
 */
public final class Adjustments {

  /** How long an adjustment id is remembered: a retry within it is applied once. */
  public static final long REMEMBER_MS = 24 * 3600 * 1000L;
  /** An adjustment id's most bytes. */
  public static final int MAX_ID_BYTES = 128;

  /**
   * What Adjust answered.
   *
   * @param applied        false when the adjustment id was applied before (nothing changed), or Redis was unavailable
   * @param remaining      the bucket's whole tokens now, negative for a debt
   * @param quotaRemaining the quota's tokens left in the period (negative: over it); null without a quota
   * @param degradedReason why Redis could not be asked (nothing was applied); null when it was
   * @param storedTier     the plan stored for the user that settled it (read in the same call); empty for none, or not read
   * @param overridden     the user's override of the rule's numbers settled it
   */
  public record Adjusted(String rule, boolean applied, long remaining, Long quotaRemaining, String degradedReason, String storedTier,
                         boolean overridden) {
  }

  private final CheckStore store;
  private final Leases.Plans plans;
  private final Supplier<Limits> limits;
  private final Metrics metrics;
  private final RedisFaults faults;
  private final DenyCache denyCache;

  Adjustments(CheckStore store, Leases.Plans plans, Supplier<Limits> limits, Metrics metrics, RedisFaults faults, DenyCache denyCache) {
    this.store = store;
    this.plans = plans;
    this.limits = limits;
    this.metrics = metrics;
    this.faults = faults;
    this.denyCache = denyCache;
  }

  /**
   * Takes {@code delta} tokens more ({@code > 0}) or gives them back ({@code < 0}) on the rule of
   * {@code action} (on {@code tier}, empty for none); {@code adjustmentId} empty for none.
   */
  public Future<Adjusted> adjust(String userId, String action, long delta, String adjustmentId, String tier, long callerDeadlineNanos) {
    Limits snapshot = limits.get();
    Rule rule;
    try {
      rule = Limiter.ruleOfValid("", snapshot, userId, action, tier);
      if (delta == 0 || delta < -LimitsParser.MAX_CAPACITY || delta > LimitsParser.MAX_CAPACITY) {
        throw new InvalidRequestException("delta", "delta must be a whole number of tokens from -" + LimitsParser.MAX_CAPACITY + " to "
            + LimitsParser.MAX_CAPACITY + " other than 0, was " + delta);
      }
      if (!adjustmentId.isEmpty()) {
        Limiter.requireName("adjustment_id", adjustmentId, MAX_ID_BYTES);
      }
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    // The check read the user's stored plan or override in Redis: the settlement reads them too, in its
    // own call, so that it clamps to the capacity and counts the quota the check was decided under.
    TierChoice choice = plans.choiceOf(snapshot, action, tier);
    Object[] args = {rule.capacity(), rule.refillPerSecond(), delta, adjustmentId.isEmpty() ? 0L : REMEMBER_MS};
    Promise<Adjusted> answer = Promise.promise();
    long now = System.nanoTime();
    StoreAnswer<Adjusted> settled = new StoreAnswer<>(answer, metrics) {
      @Override
      public void onReply(Object reply) {
        metrics.redisCall(now);
        Adjusted adjusted;
        try {
          Object[] fields = (Object[]) reply;
          adjusted = new Adjusted(rule.name(), (Long) fields[0] == 1, (Long) fields[1],
              fields[2] instanceof Long quotaRemaining ? quotaRemaining : null, null,
              choice == null ? "" : choice.planOf((String) fields[3]), (Long) fields[4] == 1);
        } catch (RuntimeException e) {
          answer.tryFail(CheckFailure.fault(faults.record(RedisFault.REPLY, "cannot read an adjust reply: " + e)));
          return;
        }
        if (adjusted.applied() && delta < 0) {
          // Tokens given back: a refusal this instance cached may no longer hold (other instances'
          // cached refusals end when they said, as after a batch's give-back).
          denyCache.forget(userId, rule.name());
        }
        answer.tryComplete(adjusted);
      }

      @Override
      void unavailable(Unavailable why, long retryAfterMs) {
        // A call that was sent may have run: the caller retries with the same adjustment id to be sure.
        answer.tryComplete(new Adjusted(rule.name(), false, 0, null, why.label(), "", false));
      }
    };
    // lua/adjust.lua's keys: the bucket, the id, then the quota (always for a choice, whose plans may
    // have one), and what a choice reads.
    List<String> keys = new ArrayList<>(5);
    Collections.addAll(keys, RedisKeys.bucket(userId, rule.name()), RedisKeys.adjustment(userId, rule.name(), adjustmentId));
    if (rule.quota() != null || choice != null) {
      keys.add(RedisKeys.quota(userId, rule.name()));
    }
    if (choice != null && choice.readsStoredPlan()) {
      keys.add(RedisKeys.tier(userId));
    }
    if (choice != null && choice.readsOverride()) {
      keys.add(RedisKeys.override(userId, rule.name()));
    }
    if (choice == null) {
      store.adjust(keys.toArray(String[]::new), args, rule, now, callerDeadlineNanos, settled);
    } else {
      store.adjust(keys.toArray(String[]::new), args, choice, now, callerDeadlineNanos, settled);
    }
    return answer.future();
  }
}
