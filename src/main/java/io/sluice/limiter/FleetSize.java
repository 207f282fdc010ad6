package io.sluice.limiter;

import io.sluice.redis.LuaScript;
import io.sluice.redis.RedisKeys;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How many Sluice instances are live, for the {@code local} failure mode's share of a limit. Each
 * instance announces itself in Redis every heartbeat ({@code lua/heartbeat.lua}); the reply is the
 * count of instances whose announcement has not ended. While Redis is away the last count stays.
 */
public final class FleetSize {

  private static final Logger log = LoggerFactory.getLogger(FleetSize.class);
  /** An announcement outlives this many heartbeats, so that one late beat does not shrink the fleet. */
  private static final int BEATS_PER_ANNOUNCEMENT = 3;

  private final Vertx vertx;
  private final Redis redis;
  private final LuaScript script;
  private final String instanceId;
  private final long heartbeatMs;
  private final java.util.function.Supplier<String> status;
  private volatile int live = 1;
  private long timer = -1;

  /** @param status what the heartbeat says of this instance (JSON), for the console's view of the fleet */
  public FleetSize(Vertx vertx, Redis redis, LuaScript script, String instanceId, long heartbeatMs,
                   java.util.function.Supplier<String> status) {
    this.status = status;
    this.vertx = vertx;
    this.redis = redis;
    this.script = script;
    this.instanceId = instanceId;
    this.heartbeatMs = heartbeatMs;
  }

  /** Announces this instance now and every heartbeat after; completes after the first attempt. */
  public Future<Void> start() {
    timer = vertx.setPeriodic(heartbeatMs, tick -> beat());
    return beat().otherwiseEmpty();
  }

  /** Announces this instance now, out of turn: what it says of itself changed (it began to serve). */
  public void announceNow() {
    beat();
  }

  /** Live instances, at least 1 (this one). */
  public int live() {
    return live;
  }

  private Future<Void> beat() {
    return announce("beat").map(count -> {
      int now = Math.max(1, count);
      if (now != live) {
        log.info("{} live sluice instance(s)", now);
        live = now;
      }
      return null;
    });
  }

  private Future<Integer> announce(String what) {
    return script.call(redis, 2, RedisKeys.INSTANCES, RedisKeys.INSTANCE_STATUS, instanceId, heartbeatMs * BEATS_PER_ANNOUNCEMENT, what,
            "leave".equals(what) ? "" : status.get())
        .map(reply -> reply.toInteger());
  }

  /** Stops announcing and says so, so that the others' share grows at once. */
  public Future<Void> leave() {
    vertx.cancelTimer(timer);
    return announce("leave").otherwiseEmpty().mapEmpty();
  }
}
