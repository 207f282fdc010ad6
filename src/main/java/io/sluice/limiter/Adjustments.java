package io.sluice.limiter;

import io.sluice.limits.Limits;
import io.sluice.limits.LimitsParser;
import io.sluice.limits.Rule;
import io.sluice.redis.RedisFault;
import io.sluice.redis.RedisFaults;
import io.sluice.redis.RedisKeys;
import io.sluice.redis.Unavailable;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;

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
   */
  public record Adjusted(String rule, boolean applied, long remaining, Long quotaRemaining, String degradedReason) {
  }

  private final CheckStore store;
  private final Supplier<Limits> limits;
  private final Metrics metrics;
  private final RedisFaults faults;
  private final DenyCache denyCache;

  Adjustments(CheckStore store, Supplier<Limits> limits, Metrics metrics, RedisFaults faults, DenyCache denyCache) {
    this.store = store;
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
      // The check read the user's stored plan or override in Redis; a settlement under other numbers
      // would clamp the bucket to the wrong capacity, or miss the plan's quota.
      io.sluice.limits.TierChoice choice = snapshot.choiceFor(action, tier);
      if (choice != null && choice.readsOverride()) {
        throw new InvalidRequestException("action", "rule '" + rule.name() + "' (of action '" + action
            + "') is overridable: its users' numbers live in Redis, and Adjust does not settle them yet");
      }
      if (choice != null && choice.readsStoredPlan()) {
        throw new InvalidRequestException("tier", "tier: name the user's plan; plans change rule '" + rule.name() + "' (of action '" + action
            + "'), and Adjust settles on the plan the request names, not on one stored for the user");
      }
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    String[] keys = rule.quota() == null
        ? new String[] {RedisKeys.bucket(userId, rule.name()), RedisKeys.adjustment(userId, rule.name(), adjustmentId)}
        : new String[] {RedisKeys.bucket(userId, rule.name()), RedisKeys.adjustment(userId, rule.name(), adjustmentId),
            RedisKeys.quota(userId, rule.name())};
    Object[] args = {rule.capacity(), rule.refillPerSecond(), delta, adjustmentId.isEmpty() ? 0L : REMEMBER_MS};
    Promise<Adjusted> answer = Promise.promise();
    long now = System.nanoTime();
    store.adjust(keys, args, rule, now, callerDeadlineNanos, new StoreAnswer<>(answer, metrics) {
      @Override
      public void onReply(Object reply) {
        metrics.redisCall(now);
        Adjusted adjusted;
        try {
          Object[] fields = (Object[]) reply;
          adjusted = new Adjusted(rule.name(), (Long) fields[0] == 1, (Long) fields[1],
              fields[2] instanceof Long quotaRemaining ? quotaRemaining : null, null);
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
        answer.tryComplete(new Adjusted(rule.name(), false, 0, null, why.label()));
      }
    });
    return answer.future();
  }
}
