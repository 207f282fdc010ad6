package io.sluice.redis;

import io.sluice.config.RedisAccess;
import io.sluice.config.Settings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A master watched by Sentinel: the sentinels are asked which node it is, at start, every
 * {@link #POLL_MS}, and at once when a node answers as a replica (READONLY). A failover moves the
 * checks to the promoted node; until they get there, the breaker and the failure mode answer.
 */
public final class SentinelTopology implements RedisTopology {

  private static final Logger log = LoggerFactory.getLogger(SentinelTopology.class);
  static final long POLL_MS = 500;

  private final Vertx vertx;
  private final Settings.RedisSettings settings;
  private final List<Redis> sentinels;
  private final AtomicBoolean asking = new AtomicBoolean();
  private volatile RedisAccess master;
  private volatile List<RedisAccess> nodes;
  private final List<Runnable> masterMoved = new java.util.concurrent.CopyOnWriteArrayList<>();

  private SentinelTopology(Vertx vertx, Settings.RedisSettings settings) {
    this.vertx = vertx;
    this.settings = settings;
    // A sentinel is logged in with what its own URI says: the data nodes' user and password are not the sentinels'.
    this.sentinels = settings.uris().stream().map(uri -> {
      RedisAccess own = RedisAccess.parse(uri);
      RedisAccess sentinel = own.withCredentials(own.user(), own.password(), settings.tlsCa());
      return Redis.createClient(vertx, RedisClients.nodeOptions(settings, sentinel).setMaxPoolSize(1));
    }).toList();
  }

  /** Asks the sentinels for the master until one answers (within {@code waitMs}), then keeps asking. */
  public static Future<RedisTopology> discover(Vertx vertx, Settings.RedisSettings settings, long waitMs) {
    SentinelTopology topology = new SentinelTopology(vertx, settings);
    return topology.ask(0)
        .timeout(waitMs, TimeUnit.MILLISECONDS)
        .recover(e -> Future.failedFuture(new IllegalStateException("no sentinel of " + settings.uris().size()
            + " named the master '" + settings.masterName() + "' (" + e.getMessage() + ")")))
        .map(found -> {
          vertx.setPeriodic(POLL_MS, timer -> topology.refresh());
          return topology;
        });
  }

  @Override
  public RedisAccess nodeFor(String key) {
    return master;
  }

  @Override
  public List<RedisAccess> nodes() {
    return nodes;
  }

  @Override
  public void onMasterMoved(Runnable listener) {
    masterMoved.add(listener);
  }

  @Override
  public void refresh() {
    if (asking.compareAndSet(false, true)) {
      ask(0).onComplete(done -> asking.set(false));
    }
  }

  private Future<Void> ask(int index) {
    if (index >= sentinels.size()) {
      return Future.failedFuture("no sentinel answered");
    }
    return sentinels.get(index).send(Request.cmd(Command.SENTINEL).arg("get-master-addr-by-name").arg(settings.masterName()))
        .timeout(Math.max(500, settings.timeoutMs() * 2L), TimeUnit.MILLISECONDS)
        .compose(reply -> {
          if (reply == null || reply.size() < 2) {
            return Future.failedFuture("sentinel does not know master '" + settings.masterName() + "'");
          }
          RedisAccess named = settings.access().at(reply.get(0).toString(), reply.get(1).toInteger());
          if (master == null || !master.address().equals(named.address())) {
            if (master != null) {
              log.warn("redis master '{}' moved from {} to {} (a sentinel failover)", settings.masterName(), master.address(), named.address());
            }
            boolean moved = master != null;
            master = named;
            nodes = List.of(named);
            if (moved) {
              masterMoved.forEach(Runnable::run);
            }
          }
          return Future.<Void>succeededFuture();
        })
        .recover(e -> ask(index + 1));
  }
}
