package io.sluice.limiter;

import io.sluice.redis.RedisFault;
import io.sluice.redis.ScriptCallback;
import io.sluice.redis.Unavailable;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Promise;

/**
 * The ends that every script call outside the check path shares (a lease, a settled cost): shed
 * before it was sent, faulted, answered too late, and Redis unavailable counted as checks count it.
 * Its reply and what is answered while Redis is unavailable are the caller's.
 */
abstract class StoreAnswer<T> implements ScriptCallback {
  private final Promise<T> answer;
  private final Metrics metrics;

  StoreAnswer(Promise<T> answer, Metrics metrics) {
    this.answer = answer;
    this.metrics = metrics;
  }

  /** Counts the unavailability (an open breaker is no error of Redis's: nothing was sent), then answers it. */
  @Override
  public void onUnavailable(Unavailable why, long retryAfterMs) {
    if (why != Unavailable.BREAKER_OPEN) {
      metrics.redisError(why.label());
    }
    unavailable(why, retryAfterMs);
  }

  /** What is answered while Redis is unavailable, for {@code why}. */
  abstract void unavailable(Unavailable why, long retryAfterMs);

  @Override
  public void onDeadline() {
    metrics.shed("deadline");
    answer.tryFail(CheckFailure.deadline());
  }

  @Override
  public void onOverload() {
    metrics.shed("overload");
    answer.tryFail(CheckFailure.backlog());
  }

  @Override
  public void onFault(RedisFault fault, String incidentId) {
    answer.tryFail(CheckFailure.fault(incidentId));
  }

  @Override
  public void onLateReply(Object reply) {
    // By default, a late reply changed nothing more than its answer says (a lease's grant overrides this).
  }
}
