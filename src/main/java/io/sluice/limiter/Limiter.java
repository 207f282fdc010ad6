package io.sluice.limiter;

import io.sluice.config.Settings.FailureMode;
import io.sluice.limits.Limits;
import io.sluice.limits.LimitsParser;
import io.sluice.limits.Rule;
import io.sluice.redis.LuaScript;
import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Decides one check: validates it, picks the rule from the current limits snapshot, and runs the
 * token bucket in Redis in one EVALSHA. Non-blocking; one instance per gRPC verticle.
 */
public final class Limiter {

  private static final Logger log = LoggerFactory.getLogger(Limiter.class);

  private final Redis redis;
  private final LuaScript tokenBucket;
  private final Supplier<Limits> limits;
  private final FailureMode failureMode;
  private final long redisTimeoutMs;
  /** Whether the last Redis call worked; failures are logged when this flips, not once per check. */
  private boolean redisAnswering = true;

  public Limiter(Redis redis, LuaScript tokenBucket, Supplier<Limits> limits, FailureMode failureMode, long redisTimeoutMs) {
    this.redis = redis;
    this.tokenBucket = tokenBucket;
    this.limits = limits;
    this.failureMode = failureMode;
    this.redisTimeoutMs = redisTimeoutMs;
  }

  /**
   * @param cost tokens to take; 0 means 1
   * @return the decision, or a failed future with {@link InvalidCheckException} for bad input
   */
  public Future<Decision> check(String userId, String action, long cost) {
    Rule rule = limits.get().ruleFor(action);
    long tokens = cost == 0 ? 1 : cost;
    try {
      requireName("user_id", userId);
      requireName("action", action);
      if (tokens < 0 || tokens > rule.capacity()) {
        throw new InvalidCheckException("cost",
            "cost must be from 0 to the capacity of rule '" + rule.name() + "' (" + rule.capacity() + "), was " + Long.toUnsignedString(cost));
      }
    } catch (InvalidCheckException e) {
      return Future.failedFuture(e);
    }
    return tokenBucket.call(redis, 1, RedisKeys.bucket(userId, action), rule.capacity(), rule.refillPerSecond(), tokens)
        .timeout(redisTimeoutMs, TimeUnit.MILLISECONDS)
        .map(reply -> fromReply(rule, reply))
        .andThen(done -> noteRedisState(done.succeeded(), done.cause()))
        .recover(failure -> degrade(rule));
  }

  private static Decision fromReply(Rule rule, Response reply) {
    boolean allowed = reply.get(0).toInteger() == 1;
    return new Decision(
        allowed ? Decision.Outcome.ALLOW : Decision.Outcome.DENY,
        rule.name(),
        rule.capacity(),
        reply.get(1).toLong(),
        reply.get(2).toLong(),
        reply.get(3).toLong(),
        false);
  }

  private void noteRedisState(boolean answered, Throwable failure) {
    if (answered != redisAnswering) {
      redisAnswering = answered;
      if (answered) {
        log.info("redis answers checks again");
      } else {
        log.warn("redis does not answer checks, answering {} (degraded) until it does: {}", failureMode, failure.toString());
      }
    }
  }

  private Future<Decision> degrade(Rule rule) {
    Decision.Outcome outcome = failureMode == FailureMode.ALLOW ? Decision.Outcome.ALLOW : Decision.Outcome.DENY;
    return Future.succeededFuture(Decision.degraded(outcome, rule.name(), rule.capacity()));
  }

  private static void requireName(String field, String value) {
    int bytes = utf8Length(value);
    if (bytes == 0 || bytes > LimitsParser.MAX_NAME_BYTES) {
      throw new InvalidCheckException(field,
          field + " must be 1 to " + LimitsParser.MAX_NAME_BYTES + " bytes of UTF-8, was " + bytes + " bytes");
    }
  }

  /** UTF-8 length without encoding: the hot path should not allocate a byte array per field. */
  static int utf8Length(String s) {
    int bytes = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }
}
