package io.sluice.redis;

import io.sluice.config.Settings;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;

/** Builds the Redis clients of this process from {@link Settings}, so all of them behave alike. */
public final class RedisClients {

  /** Checks beyond the pool wait here rather than fail; past this the instance is overloaded anyway. */
  private static final int MAX_POOL_WAITING = 4096;

  private RedisClients() {
  }

  /** A pooled client; create it inside the verticle that uses it, so its connections stay on that event loop. */
  public static Redis pooled(Vertx vertx, Settings settings) {
    return Redis.createClient(vertx, options(settings));
  }

  public static RedisOptions options(Settings settings) {
    return new RedisOptions()
        .setConnectionString(settings.redis())
        .setMaxPoolSize(settings.redisPoolSize())
        .setMaxPoolWaiting(MAX_POOL_WAITING)
        .setNetClientOptions(new NetClientOptions()
            .setTcpNoDelay(true)
            .setTcpKeepAlive(true)
            // A Redis that is down must fail a check fast, not after the OS's connect timeout.
            .setConnectTimeout(Math.max(100, settings.redisTimeoutMs() * 4)));
  }
}
