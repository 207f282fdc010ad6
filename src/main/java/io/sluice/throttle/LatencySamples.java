package io.sluice.throttle;

import io.sluice.limiter.InvalidRequestException;
import io.sluice.limiter.ThrottleFactors;
import io.sluice.redis.RedisKeys;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;

import java.util.List;

/**
 * Hands latency samples to the fleet: every instance pushes what it receives or probes into Redis,
 * and the instance that runs the controller drains them each window, so the factor reflects the
 * latency all instances saw.
 */
public final class LatencySamples {

  public static final int MAX_SAMPLES_PER_REPORT = 10_000;
  /** Per subject and window; beyond it the oldest samples are dropped (the p95 needs no more). */
  public static final int MAX_SAMPLES_PER_WINDOW = 50_000;

  private LatencySamples() {
  }

  /** @param subject {@link ThrottleFactors#BACKEND} or an action */
  public static Future<Void> record(Redis redis, String subject, List<Double> latenciesMs) {
    if (latenciesMs.isEmpty() || latenciesMs.size() > MAX_SAMPLES_PER_REPORT) {
      return Future.failedFuture(new InvalidRequestException("latency_ms",
          "latency_ms must hold 1 to " + MAX_SAMPLES_PER_REPORT + " samples, held " + latenciesMs.size()));
    }
    Request push = Request.cmd(Command.RPUSH).arg(RedisKeys.throttleSamples(subject));
    for (double ms : latenciesMs) {
      if (!(ms >= 0 && ms < 3_600_000)) {
        return Future.failedFuture(new InvalidRequestException("latency_ms",
            "latency_ms must be from 0 to 3600000 ms each, was " + ms));
      }
      push.arg(ms);
    }
    return redis.batch(List.of(
        Request.cmd(Command.SADD).arg(RedisKeys.THROTTLE_SUBJECTS).arg(subject),
        push,
        Request.cmd(Command.LTRIM).arg(RedisKeys.throttleSamples(subject)).arg(-MAX_SAMPLES_PER_WINDOW).arg(-1)))
        .mapEmpty();
  }
}
