package io.sluice.redis;

import io.sluice.config.RedisAccess;
import io.sluice.config.Settings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Redis Cluster: the master of each of the 16384 slots, read with CLUSTER SLOTS from any node
 * that answers. A MOVED redirect corrects one slot at once and makes the map be read again; so does
 * a node that stops being a master; and it is read every {@link #REFRESH_MS} besides, so that a
 * failover nobody redirected to is seen too. Until a node first answers, every slot goes to the
 * first node given, whose redirects then teach the rest.
 */
public final class ClusterTopology implements RedisTopology {

  private static final Logger log = LoggerFactory.getLogger(ClusterTopology.class);
  static final long REFRESH_MS = 5_000;

  private final Vertx vertx;
  private final Settings.RedisSettings settings;
  private final List<RedisAccess> seeds;
  private final AtomicBoolean refreshing = new AtomicBoolean();
  private volatile RedisAccess[] bySlot;
  private volatile List<RedisAccess> masters;

  private ClusterTopology(Vertx vertx, Settings.RedisSettings settings) {
    this.vertx = vertx;
    this.settings = settings;
    this.seeds = settings.accesses();
    RedisAccess[] initial = new RedisAccess[HashSlot.SLOTS];
    Arrays.fill(initial, seeds.get(0));
    this.bySlot = initial;
    this.masters = List.of(seeds.get(0));
  }

  /** Reads the slots once (or gives up after {@code waitMs}: the map is read again in the background) and keeps them fresh. */
  public static Future<RedisTopology> discover(Vertx vertx, Settings.RedisSettings settings, long waitMs) {
    ClusterTopology topology = new ClusterTopology(vertx, settings);
    vertx.setPeriodic(REFRESH_MS, timer -> topology.refresh());
    return topology.read()
        .timeout(waitMs, TimeUnit.MILLISECONDS)
        .onFailure(e -> log.warn("could not read the cluster's slots at start ({}); routing by redirects until a node answers", e.toString()))
        .otherwiseEmpty()
        .map(done -> topology);
  }

  @Override
  public RedisAccess nodeFor(String key) {
    return bySlot[HashSlot.of(key)];
  }

  @Override
  public List<RedisAccess> nodes() {
    return masters;
  }

  @Override
  public void moved(int slot, RedisAccess node) {
    if (slot >= 0 && slot < HashSlot.SLOTS) {
      bySlot[slot] = node;
    }
    refresh();
  }

  @Override
  public void refresh() {
    read();
  }

  /** One CLUSTER SLOTS, from the known masters first, then the seeds; at most one at a time. */
  private Future<Void> read() {
    if (!refreshing.compareAndSet(false, true)) {
      return Future.succeededFuture();
    }
    List<RedisAccess> candidates = new ArrayList<>(masters);
    seeds.stream().filter(seed -> !candidates.contains(seed)).forEach(candidates::add);
    return readFrom(candidates, 0).andThen(done -> refreshing.set(false));
  }

  private Future<Void> readFrom(List<RedisAccess> candidates, int index) {
    if (index >= candidates.size()) {
      return Future.failedFuture("no cluster node answered CLUSTER SLOTS");
    }
    RedisAccess node = candidates.get(index);
    Redis client = Redis.createClient(vertx, RedisClients.nodeOptions(settings, node).setMaxPoolSize(1));
    return client.send(Request.cmd(Command.CLUSTER).arg("SLOTS"))
        .timeout(Math.max(1000, settings.timeoutMs() * 4L), TimeUnit.MILLISECONDS)
        .map(reply -> {
          apply(node, reply);
          return (Void) null;
        })
        .eventually(client::close)
        .recover(e -> readFrom(candidates, index + 1));
  }

  private void apply(RedisAccess asked, Response reply) {
    RedisAccess[] next = new RedisAccess[HashSlot.SLOTS];
    Map<String, RedisAccess> found = new LinkedHashMap<>();
    for (Response range : reply) {
      Response master = range.get(2);
      String host = master.get(0).toString();
      // An empty host means "the address you reached me at".
      RedisAccess named = asked.at(host.isEmpty() ? asked.host() : host, master.get(1).toInteger());
      RedisAccess node = found.computeIfAbsent(named.address(), address -> named);
      for (int slot = range.get(0).toInteger(); slot <= range.get(1).toInteger(); slot++) {
        next[slot] = node;
      }
    }
    RedisAccess fallback = found.isEmpty() ? asked : found.values().iterator().next();
    for (int slot = 0; slot < next.length; slot++) {
      if (next[slot] == null) {
        next[slot] = fallback;
      }
    }
    List<RedisAccess> nextMasters = List.copyOf(found.values());
    if (!nextMasters.equals(masters)) {
      log.info("redis cluster masters: {}", nextMasters.stream().map(RedisAccess::address).toList());
    }
    bySlot = next;
    masters = nextMasters.isEmpty() ? List.of(asked) : nextMasters;
  }
}
