package io.sluice.redis;

import io.sluice.config.RedisAccess;
import io.sluice.config.Settings;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisClusterTransactions;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.RedisReplicas;

import java.util.List;

/**
 * The vertx-redis-client clients of this process, for everything but checks (admin, limits,
 * throttle, heartbeats, Pub/Sub), built from {@link Settings} so all of them behave alike. Checks
 * have their own pipelined connections ({@link RedisPipelines}); both follow one topology, so
 * under Sentinel both go to the master {@link SentinelTopology} names.
 */
public final class RedisClients {

  /** Admin and background work needs few connections; checks never borrow from this pool. */
  private static final int POOL_SIZE = 4;
  private static final int MAX_POOL_WAITING = 1024;

  private RedisClients() {
  }

  /**
   * A pooled client; create it inside the verticle that uses it, so its connections stay on that
   * event loop. Under Sentinel it follows the master {@code topology} names, the same the checks use.
   */
  public static Redis pooled(Vertx vertx, Settings settings, RedisTopology topology) {
    return pooled(vertx, settings.redis(), topology);
  }

  /** The same, from the Redis settings alone. */
  public static Redis pooled(Vertx vertx, Settings.RedisSettings redis, RedisTopology topology) {
    return redis.sentinel() ? new FollowingRedis(vertx, redis, topology, POOL_SIZE) : Redis.createClient(vertx, options(redis));
  }

  /**
   * The options of a pooled client for one node or a Cluster (commands go to the master of their
   * keys' slot, a transaction to one node). Sentinel has none: its clients follow the topology
   * ({@link #pooled(Vertx, Settings.RedisSettings, RedisTopology)}).
   */
  public static RedisOptions options(Settings.RedisSettings redis) {
    if (redis.sentinel()) {
      throw new IllegalArgumentException("a Sentinel master is followed through its topology: use RedisClients.pooled");
    }
    RedisAccess first = redis.access();
    RedisOptions options = pooled(redis, first);
    if (redis.cluster()) {
      options.setType(RedisClientType.CLUSTER)
          .setEndpoints(redis.accesses().stream().map(RedisAccess::connectionString).toList())
          .setUseReplicas(RedisReplicas.NEVER)
          .setClusterTransactions(RedisClusterTransactions.SINGLE_NODE);
    } else {
      options.setConnectionString(first.connectionString());
    }
    return login(options, first);
  }

  /** The options of a client of one node only (a cluster master to SCAN, a node to subscribe on). */
  public static RedisOptions nodeOptions(Settings.RedisSettings redis, RedisAccess node) {
    return login(pooled(redis, node).setConnectionString(node.connectionString()), node);
  }

  /** The pool, and TCP or TLS to {@code node}, that every client here shares. */
  private static RedisOptions pooled(Settings.RedisSettings redis, RedisAccess node) {
    return new RedisOptions()
        .setMaxPoolSize(POOL_SIZE)
        .setMaxPoolWaiting(MAX_POOL_WAITING)
        // A Redis that is down must fail a call fast, not after the OS's connect timeout.
        .setNetClientOptions(node.netOptions(Math.max(100, redis.timeoutMs() * 4)));
  }

  private static RedisOptions login(RedisOptions options, RedisAccess access) {
    if (!access.password().isEmpty()) {
      options.setPassword(access.password());
    }
    if (!access.user().isEmpty()) {
      options.setUser(access.user());
    }
    return options;
  }

  /**
   * Clients a Pub/Sub connection may use, tried in turn: in a Cluster, any node hears every
   * PUBLISH, so each node is one; otherwise the one client of the mode.
   */
  public static List<Redis> pubSub(Vertx vertx, Settings.RedisSettings redis, RedisTopology topology) {
    if (redis.cluster()) {
      return redis.accesses().stream().map(node -> Redis.createClient(vertx, nodeOptions(redis, node).setMaxPoolSize(1))).toList();
    }
    if (redis.sentinel()) {
      return List.of(new FollowingRedis(vertx, redis, topology, 1));
    }
    return List.of(Redis.createClient(vertx, options(redis).setMaxPoolSize(1)));
  }
}
