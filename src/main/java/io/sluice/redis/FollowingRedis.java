package io.sluice.redis;

import io.sluice.config.RedisAccess;
import io.sluice.config.Settings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.List;

/**
 * A vertx-redis-client client of the master a {@link SentinelTopology} names, for everything but
 * checks: the one Sentinel follower of the process serves both Redis paths, so the checks and the
 * admin, limits and throttle work never disagree on which node is the master. When the topology
 * names another node, the next call goes there through a new client and the old one is closed (what
 * was in flight on it fails, as any call does in a failover).
 */
final class FollowingRedis implements Redis {

  private final Vertx vertx;
  private final Settings.RedisSettings settings;
  private final RedisTopology topology;
  private final int poolSize;
  private RedisAccess at;
  private Redis client;

  FollowingRedis(Vertx vertx, Settings.RedisSettings settings, RedisTopology topology, int poolSize) {
    this.vertx = vertx;
    this.settings = settings;
    this.topology = topology;
    this.poolSize = poolSize;
  }

  private synchronized Redis client() {
    RedisAccess master = topology.nodes().get(0);
    if (client == null || !master.address().equals(at.address())) {
      Redis previous = client;
      at = master;
      client = Redis.createClient(vertx, RedisClients.nodeOptions(settings, master).setMaxPoolSize(poolSize));
      if (previous != null) {
        previous.close();
      }
    }
    return client;
  }

  @Override
  public Future<RedisConnection> connect() {
    return client().connect();
  }

  @Override
  public Future<Response> send(Request command) {
    return client().send(command);
  }

  @Override
  public Future<List<Response>> batch(List<Request> commands) {
    return client().batch(commands);
  }

  @Override
  public synchronized Future<Void> close() {
    return client == null ? Future.succeededFuture() : client.close();
  }
}
