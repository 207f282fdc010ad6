package io.sluice.redis;

import io.sluice.config.Settings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A client per master, for what must visit every node: SCAN walks one node's keys, and in a
 * Cluster each master holds its own. Standalone and Sentinel have one master: the pooled client.
 * Create it in the verticle that uses it, like any client.
 */
public final class NodeClients {

  private final Vertx vertx;
  private final Settings.RedisSettings settings;
  private final RedisTopology topology;
  private final Redis pooled;
  private final Map<String, Redis> byNode = new ConcurrentHashMap<>();

  public NodeClients(Vertx vertx, Settings.RedisSettings settings, RedisTopology topology, Redis pooled) {
    this.vertx = vertx;
    this.settings = settings;
    this.topology = topology;
    this.pooled = pooled;
  }

  /** A master and a client of it alone: what a SCAN of the whole keyspace asks, one after another. */
  public record Master(String address, Redis client) {
  }

  /** A client of each master, as the topology knows them now. */
  public List<Redis> masters() {
    return masterNodes().stream().map(Master::client).toList();
  }

  /** Each master with its address, so that one that does not answer can be named. */
  public List<Master> masterNodes() {
    if (!settings.cluster()) {
      return List.of(new Master(settings.access().address(), pooled));
    }
    return topology.nodes().stream()
        .map(node -> new Master(node.address(),
            byNode.computeIfAbsent(node.address(), address -> Redis.createClient(vertx, RedisClients.nodeOptions(settings, node)))))
        .toList();
  }

  /**
   * How many subscribers of {@code channel} a PUBLISH reached: its own count, except in a Cluster,
   * where PUBLISH counts the subscribers of the node that took it only while every node's hear it:
   * there, every master is asked how many listen.
   */
  public Future<Long> subscribers(String channel, long publishCount) {
    if (!settings.cluster()) {
      return Future.succeededFuture(publishCount);
    }
    List<Future<Response>> counts = masters().stream()
        .map(master -> master.send(Request.cmd(Command.PUBSUB).arg("NUMSUB").arg(channel)))
        .toList();
    return Future.all(counts).map(done -> counts.stream().mapToLong(count -> count.result().get(1).toLong()).sum());
  }

  public void close() {
    byNode.values().forEach(Redis::close);
  }
}
