package io.sluice.redis;

import io.sluice.config.RedisAccess;
import io.sluice.config.Settings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.util.List;

/**
 * Which Redis node holds a key: the one node of a standalone Redis, the current master under
 * Sentinel, the master of the key's hash slot in a Cluster. Shared by every event loop; reads are
 * cheap and thread-safe, and a redirect or a failover makes it look again.
 */
public interface RedisTopology {

  /** The node for a key; every key of one check shares a hash tag, so any of them will do. */
  RedisAccess nodeFor(String key);

  /** Every node that checks may go to (the masters). */
  List<RedisAccess> nodes();

  /** A node said a slot now lives elsewhere (cluster MOVED); other topologies ignore it. */
  default void moved(int slot, RedisAccess node) {
  }

  /** The node for a key answered as if it were not the master any more: look again. */
  default void refresh() {
  }

  /**
   * Calls {@code listener} each time the master moves (a Sentinel failover), on whatever thread
   * found out; other topologies never call it.
   */
  default void onMasterMoved(Runnable listener) {
  }

  /** The topology of the {@code redisMode}; a Cluster or a Sentinel master is looked up first (within {@code waitMs}). */
  static Future<RedisTopology> of(Vertx vertx, Settings.RedisSettings settings, long waitMs) {
    return switch (settings.mode()) {
      case Settings.RedisSettings.CLUSTER -> ClusterTopology.discover(vertx, settings, waitMs);
      case Settings.RedisSettings.SENTINEL -> SentinelTopology.discover(vertx, settings, waitMs);
      default -> Future.succeededFuture(standalone(settings.access()));
    };
  }

  /** One standalone Redis: every key lives on it. */
  static RedisTopology standalone(RedisAccess node) {
    List<RedisAccess> nodes = List.of(node);
    return new RedisTopology() {
      @Override
      public RedisAccess nodeFor(String key) {
        return node;
      }

      @Override
      public List<RedisAccess> nodes() {
        return nodes;
      }
    };
  }
}
