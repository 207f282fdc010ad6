package io.sluice.limiter;

import io.sluice.config.Settings;
import io.sluice.config.Settings.FailureMode;
import io.sluice.limits.AbusePolicy;
import io.sluice.limits.Limits;
import io.sluice.limits.LimitsParser;
import io.sluice.limits.Rule;
import io.sluice.ops.Health;
import io.sluice.ops.Metrics;
import io.sluice.redis.LuaScript;
import io.sluice.throttle.ThrottleFactors;
import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Decides one check: validates it, reads the limits snapshot once, answers listed users and cached
 * bans locally, and otherwise runs ban check, token bucket and abuse counting in Redis in one
 * EVALSHA. Non-blocking; one instance per gRPC verticle.
 */
public final class Limiter {

  private static final Logger log = LoggerFactory.getLogger(Limiter.class);
  /** Its own logger, so that operators can route or silence would-block lines apart from the rest. */
  private static final Logger shadowLog = LoggerFactory.getLogger("sluice.shadow");

  private final Redis redis;
  private final LuaScript check;
  private final Supplier<Limits> limits;
  private final BanCache banCache;
  private final FailureMode failureMode;
  private final long redisTimeoutMs;
  private final boolean shadowSetting;
  private final Metrics metrics;
  private final ThrottleFactors throttle;
  /** Knows whether the last check reached Redis: failures are logged when that flips, not once per check. */
  private final Health health;

  public Limiter(Redis redis, LuaScript check, Supplier<Limits> limits, BanCache banCache, Settings settings, Metrics metrics,
                 ThrottleFactors throttle, Health health) {
    this.redis = redis;
    this.check = check;
    this.limits = limits;
    this.banCache = banCache;
    this.failureMode = settings.failureMode();
    this.redisTimeoutMs = settings.redisTimeoutMs();
    this.shadowSetting = settings.shadow();
    this.metrics = metrics;
    this.throttle = throttle;
    this.health = health;
  }

  /**
   * @param cost tokens to take; 0 means 1
   * @return the decision, or a failed future with {@link InvalidRequestException} for bad input
   */
  public Future<Decision> check(String userId, String action, long cost) {
    Limits snapshot = limits.get();
    Rule nominal = snapshot.ruleFor(action);
    long tokens = cost == 0 ? 1 : cost;
    try {
      requireName("user_id", userId);
      requireName("action", action);
      if (tokens < 0 || tokens > nominal.capacity()) {
        throw new InvalidRequestException("cost",
            "cost must be from 0 to the capacity of rule '" + nominal.name() + "' (" + nominal.capacity() + "), was " + Long.toUnsignedString(cost));
      }
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    Rule rule = throttled(nominal, action);
    if (snapshot.allowlist().contains(userId)) {
      return Future.succeededFuture(Decision.allowlisted(rule));
    }
    boolean shadowEverything = shadowSetting || snapshot.shadow();
    if (snapshot.denylist().contains(userId)) {
      return Future.succeededFuture(enforceOrShadow(Decision.denylisted(rule), shadowEverything, userId, action));
    }
    BanCache.Entry cached = banCache.lookup(userId, action, System.nanoTime());
    if (cached != null) {
      metrics.banCacheHit();
      return Future.succeededFuture(enforceOrShadow(fromCache(rule, cached), shadowEverything, userId, action));
    }
    boolean shadowRule = shadowEverything || rule.shadow();
    long epoch = banCache.epoch();
    long redisStarted = System.nanoTime();
    return callRedis(userId, action, rule, tokens, shadowRule)
        .timeout(redisTimeoutMs, TimeUnit.MILLISECONDS)
        .andThen(done -> {
          metrics.redisCall(redisStarted, done.cause());
          noteRedisState(done.succeeded(), done.cause());
        })
        .map(reply -> fromReply(userId, action, rule, reply, epoch, shadowEverything, shadowRule))
        .recover(failure -> degrade(rule));
  }

  /**
   * An adaptive rule under a throttle factor m below 1 has capacity and refill scaled by m, so the
   * response's limit is the effective one. A request costing more than the throttled capacity is
   * refused as too large only against the rule's own capacity, and waits for the factor to recover.
   */
  private Rule throttled(Rule rule, String action) {
    if (!rule.adaptive()) {
      return rule;
    }
    double factor = throttle.factorFor(action);
    if (factor >= 1) {
      return rule;
    }
    return new Rule(rule.name(), Math.max(1, (long) Math.floor(rule.capacity() * factor)), rule.refillPerSecond() * factor,
        rule.abuse(), rule.shadow(), true);
  }

  /**
   * Shadow mode answers ALLOW where enforcing would block, logs one line and counts it. A rule in
   * shadow never blocks on what it decided itself; a real ban (manual, or another rule's) still does,
   * unless the whole instance or limits set is in shadow.
   */
  private Decision enforceOrShadow(Decision decision, boolean shadow, String userId, String action) {
    if (!shadow || !decision.blocks()) {
      return decision;
    }
    shadowLog.info("would have blocked user={} action={} rule={} decision={}", userId, action, decision.rule(), decision.outcome());
    metrics.shadowWouldBlock(decision.rule(), decision.outcome().name());
    return decision.shadowed();
  }

  private Future<Response> callRedis(String userId, String action, Rule rule, long tokens, boolean shadow) {
    AbusePolicy abuse = rule.abuse();
    if (abuse == null) {
      String[] keys = RedisKeys.forCheck(userId, action, false, false, false);
      return check.call(redis, 3, keys[0], keys[1], keys[2], rule.capacity(), rule.refillPerSecond(), tokens);
    }
    String[] keys = RedisKeys.forCheck(userId, action, true, abuse.scope() == AbusePolicy.Scope.USER, shadow);
    Object[] keysThenArgs = new Object[keys.length + 13];
    System.arraycopy(keys, 0, keysThenArgs, 0, keys.length);
    Object[] args = {rule.capacity(), rule.refillPerSecond(), tokens,
        (long) abuse.maxViolations(), abuse.windowMs(), abuse.banMs(), abuse.banMultiplier(), abuse.maxBanMs(),
        abuse.historyMs(), abuse.scope().wireName(), rule.name(), userId, action};
    System.arraycopy(args, 0, keysThenArgs, keys.length, args.length);
    return check.call(redis, keys.length, keysThenArgs);
  }

  private Decision fromReply(String userId, String action, Rule rule, Response reply, long epoch,
                             boolean shadowEverything, boolean shadowRule) {
    int code = reply.get(0).toInteger();
    int maxViolations = rule.abuse() == null ? 0 : rule.abuse().maxViolations();
    Decision.Outcome outcome = switch (code) {
      case 1 -> Decision.Outcome.ALLOW;
      case 2, 3 -> Decision.Outcome.BAN;
      default -> Decision.Outcome.DENY;
    };
    // Code 2 is a real ban, which a shadowed rule still enforces; everything else it decided itself.
    boolean shadow = code == 2 ? shadowEverything : shadowRule;
    long retryAfterMs = reply.get(2).toLong();
    int violations = reply.get(4).toInteger();
    int banLevel = reply.get(5).toInteger();
    String banScope = reply.get(6).toString();
    String banReason = reply.get(7).toString();
    if (code == 2 && reply.get(8).toInteger() == 1) {
      BansMade.record(metrics, rule.name(), banScope, userId, action, banLevel, retryAfterMs, banReason);
    }
    if (code == 2) {
      BanCache.Entry entry = new BanCache.Entry(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(retryAfterMs),
          banLevel, banScope, banReason, violations);
      banCache.remember(userId, "user".equals(banScope), action, entry, epoch);
    }
    Decision decision = new Decision(outcome, rule.name(), rule.capacity(), rule.refillPerSecond(), reply.get(1).toLong(), retryAfterMs,
        reply.get(3).toLong(), false, violations, maxViolations, banLevel, banScope, banReason, null);
    return enforceOrShadow(decision, shadow, userId, action);
  }

  private static Decision fromCache(Rule rule, BanCache.Entry ban) {
    long remainingMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(ban.untilNanos() - System.nanoTime() + 999_999));
    int maxViolations = rule.abuse() == null ? 0 : rule.abuse().maxViolations();
    return new Decision(Decision.Outcome.BAN, rule.name(), rule.capacity(), rule.refillPerSecond(), 0, remainingMs, 0, false,
        ban.violations(), maxViolations, ban.level(), ban.scope(), ban.reason(), null);
  }

  private void noteRedisState(boolean answered, Throwable failure) {
    if (health.checksReachRedis(answered)) {
      if (answered) {
        log.info("redis answers checks again");
      } else {
        log.warn("redis does not answer checks, answering {} (degraded) until it does: {}", failureMode, failure.toString());
      }
    }
  }

  private Future<Decision> degrade(Rule rule) {
    Decision.Outcome outcome = failureMode == FailureMode.ALLOW ? Decision.Outcome.ALLOW : Decision.Outcome.DENY;
    return Future.succeededFuture(Decision.degraded(outcome, rule));
  }

  public static void requireName(String field, String value) {
    int bytes = utf8Length(value);
    if (bytes == 0 || bytes > LimitsParser.MAX_NAME_BYTES) {
      throw new InvalidRequestException(field,
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
