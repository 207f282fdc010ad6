package io.sluice.redis;

import io.sluice.config.Settings;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;

/**
 * The vertx-redis-client clients of this process, for everything but checks (admin, limits,
 * throttle, heartbeats, Pub/Sub), built from {@link Settings} so all of them behave alike. Checks
 * have their own pipelined connections ({@link RedisPipelines}).
 */
public final class RedisClients {

  /** Admin and background work needs few connections; checks never borrow from this pool. */
  private static final int POOL_SIZE = 4;
  private static final int MAX_POOL_WAITING = 1024;

  private RedisClients() {
  }

  /** A pooled client; create it inside the verticle that uses it, so its connections stay on that event loop. */
  public static Redis pooled(Vertx vertx, Settings settings) {
    return Redis.createClient(vertx, options(settings.redis()));
  }

  public static RedisOptions options(Settings.RedisSettings redis) {
    RedisAccess access = redis.access();
    RedisOptions options = new RedisOptions()
        .setConnectionString(redis.uri())
        .setMaxPoolSize(POOL_SIZE)
        .setMaxPoolWaiting(MAX_POOL_WAITING)
        // A Redis that is down must fail a call fast, not after the OS's connect timeout.
        .setNetClientOptions(access.netOptions(Math.max(100, redis.timeoutMs() * 4)));
    if (!access.password().isEmpty()) {
      options.setPassword(access.password());
    }
    if (!access.user().isEmpty()) {
      options.setUser(access.user());
    }
    return options;
  }
}
