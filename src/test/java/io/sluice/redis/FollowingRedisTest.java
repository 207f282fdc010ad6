package io.sluice.redis;

import io.sluice.config.RedisAccess;
import io.sluice.config.Settings;
import io.sluice.support.Await;
import io.sluice.support.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The vertx-redis-client side of the one Sentinel follower, against two real Redis servers and a
 * topology that moves between them as a failover would, the old master staying up: the next call
 * goes to the new master, and a connection held (a Pub/Sub subscription) is closed, so that it is
 * made again there.
 */
class FollowingRedisTest {

  @Test
  void callsAndHeldConnectionsMoveWithTheMaster() throws Exception {
    try (TestRedis first = TestRedis.startOwn(); TestRedis second = TestRedis.startOwn()) {
      Vertx vertx = Vertx.vertx();
      MovingMaster topology = new MovingMaster(RedisAccess.parse(first.uri()));
      Settings.RedisSettings settings = io.sluice.config.SettingsLoader.load(vertx, null, java.util.Map.of(),
          new JsonObject().put("redis", first.uri())).await(10, TimeUnit.SECONDS).redis();
      Redis redis = new FollowingRedis(vertx, settings, topology, 2);
      try {
        redis.send(Request.cmd(Command.SET).arg("where").arg("first")).await(10, TimeUnit.SECONDS);
        RedisConnection held = redis.connect().await(10, TimeUnit.SECONDS);
        AtomicBoolean heldClosed = new AtomicBoolean();
        held.endHandler(ended -> heldClosed.set(true));

        topology.moveTo(RedisAccess.parse(second.uri()));

        Await.until("the connection held on the old master to be closed", Duration.ofSeconds(10), heldClosed::get);
        redis.send(Request.cmd(Command.SET).arg("where").arg("second")).await(10, TimeUnit.SECONDS);
        assertEquals("first", first.command(Command.GET, "where").toString(), "the old master took nothing more");
        assertEquals("second", second.command(Command.GET, "where").toString());
        RedisConnection again = redis.connect().await(10, TimeUnit.SECONDS);
        again.send(Request.cmd(Command.SET).arg("again").arg("here")).await(10, TimeUnit.SECONDS);
        assertEquals("here", second.command(Command.GET, "again").toString(), "a connection made after the move is to the new master");
      } finally {
        redis.close().await(10, TimeUnit.SECONDS);
        assertThrows(IllegalStateException.class, () -> redis.send(Request.cmd(Command.PING)).await(10, TimeUnit.SECONDS),
            "closed, it makes no client that nothing would close");
        vertx.close().await(10, TimeUnit.SECONDS);
      }
    }
  }

  /** A master that a test moves, telling its listeners as SentinelTopology does. */
  private static final class MovingMaster implements RedisTopology {
    private volatile List<RedisAccess> nodes;
    private final List<Runnable> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    MovingMaster(RedisAccess master) {
      nodes = List.of(master);
    }

    void moveTo(RedisAccess master) {
      nodes = List.of(master);
      listeners.forEach(Runnable::run);
    }

    @Override
    public RedisAccess nodeFor(String key) {
      return nodes.get(0);
    }

    @Override
    public List<RedisAccess> nodes() {
      return nodes;
    }

    @Override
    public void onMasterMoved(Runnable listener) {
      listeners.add(listener);
    }
  }
}
