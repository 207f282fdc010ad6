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
 * names another node, the client moves there at once and the old one is closed, its connections
 * with it (what was in flight on them fails, as any call does in a failover): a Pub/Sub connection
 * is so made again on the new master, even while the old one is up and still a master.
 */
final class FollowingRedis implements Redis {

  private final Vertx vertx;
  private final Settings.RedisSettings settings;
  private final RedisTopology topology;
  private final int poolSize;
  private RedisAccess at;
  private Redis client;
  private boolean closed;

  FollowingRedis(Vertx vertx, Settings.RedisSettings settings, RedisTopology topology, int poolSize) {
    this.vertx = vertx;
    this.settings = settings;
    this.topology = topology;
    this.poolSize = poolSize;
    topology.onMasterMoved(this::follow);
  }

  /** The master moved: a client made before goes now, and takes its connections with it. */
  private synchronized void follow() {
    if (client != null && !closed) {
      client();
    }
  }

  /** The client of the master now; null once closed. */
  private synchronized Redis client() {
    if (closed) {
      return null;
    }
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
    Redis now = client();
    return now == null ? closedAlready() : now.connect();
  }

  @Override
  public Future<Response> send(Request command) {
    Redis now = client();
    return now == null ? closedAlready() : now.send(command);
  }

  @Override
  public Future<List<Response>> batch(List<Request> commands) {
    Redis now = client();
    return now == null ? closedAlready() : now.batch(commands);
  }

  private static <T> Future<T> closedAlready() {
    return Future.failedFuture(new IllegalStateException("this redis client is closed"));
  }

  @Override
  public synchronized Future<Void> close() {
    closed = true;
    return client == null ? Future.succeededFuture() : client.close();
  }
}
