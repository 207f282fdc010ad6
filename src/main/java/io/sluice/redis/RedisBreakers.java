package io.sluice.redis;

import io.sluice.config.RedisAccess;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One {@link RedisBreaker} per Redis node, shared by every event loop of the process: a node that
 * fails is cut off for all of them at once. Probes run on the context that created this, each on a
 * fresh connection, so that a probe never waits behind commands stuck on a check connection.
 */
public final class RedisBreakers {

  private static final PipelinedConnection.Listener IGNORE = new PipelinedConnection.Listener() {
    @Override
    public void onReady(PipelinedConnection connection) {
    }

    @Override
    public void onDown(PipelinedConnection connection, Throwable cause) {
    }

    @Override
    public void onWrite(int commands, int checks) {
    }
  };

  private final Vertx vertx;
  private final Context context;
  private final NetClient probeClient;
  private final List<LuaScript> scripts;
  private final int maxFailures;
  private final long resetMs;
  private final long probeTimeoutMs;
  private final Map<String, RedisBreaker> byNode = new ConcurrentHashMap<>();

  /**
   * @param maxFailures failures in a row that open a breaker
   * @param resetMs     how long a breaker stays open before it probes
   */
  public RedisBreakers(Vertx vertx, RedisAccess anyNode, List<LuaScript> scripts, int maxFailures, long resetMs, long probeTimeoutMs) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.probeClient = vertx.createNetClient(anyNode.netOptions((int) probeTimeoutMs));
    this.scripts = List.copyOf(scripts);
    this.maxFailures = maxFailures;
    this.resetMs = resetMs;
    this.probeTimeoutMs = probeTimeoutMs;
  }

  public RedisBreaker forNode(RedisAccess node) {
    RedisBreaker breaker = byNode.get(node.address());
    return breaker != null ? breaker
        : byNode.computeIfAbsent(node.address(), address -> new RedisBreaker(vertx, address, maxFailures, resetMs, () -> probe(node)));
  }

  public Collection<RedisBreaker> all() {
    return byNode.values();
  }

  /** The worst state over every node: what readiness and the health JSON show. */
  public RedisBreaker.State worst() {
    RedisBreaker.State worst = RedisBreaker.State.CLOSED;
    for (RedisBreaker breaker : byNode.values()) {
      if (breaker.state().ordinal() > worst.ordinal()) {
        worst = breaker.state();
      }
    }
    return worst;
  }

  /** Logs in and loads the scripts on a fresh connection: success means checks can go back to the node. */
  private Future<Void> probe(RedisAccess node) {
    PipelinedConnection connection = new PipelinedConnection(vertx, context, probeClient, node, scripts, probeTimeoutMs,
        probeTimeoutMs, probeTimeoutMs, IGNORE);
    return connection.open().eventually(connection::close);
  }

  public Future<Void> close() {
    byNode.values().forEach(RedisBreaker::close);
    return probeClient.close();
  }
}
