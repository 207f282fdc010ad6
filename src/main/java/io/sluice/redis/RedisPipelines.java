package io.sluice.redis;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.sluice.config.RedisAccess;
import io.sluice.platform.VertxInternals;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a check meets Redis: the pipelined connections of one event loop to every Redis node, and
 * the one way a check's script gets there. A check goes to the node of its key's slot, on a
 * connection of this event loop, so it never leaves the thread it arrived on.
 *
 * <p>What can happen to a call is decided here, once: the node's breaker is open, or no connection
 * is up, and the failure mode answers at once; Redis answers; the caller's deadline passes first
 * (its own affair: the breaker does not hear of it); the call waited in Sluice unwritten past its
 * limit and is shed (Sluice's overload: never the failure mode); its connection stalled, Redis
 * answering nothing while the event loop ran (the breaker opens at once, the failure mode answers);
 * Redis redirects (NOSCRIPT is answered by one EVAL, MOVED and ASK by the node they name, READONLY
 * by reconnecting); or Redis reports a fault that no failure mode may hide.
 *
 * <p>One instance per event loop; every method runs on that event loop. Long because routing and
 * redirects (MOVED, ASK, READONLY, NOSCRIPT) and the breakers decide together which connection a
 * command may take, and when: split, each part would need the others' state.
 */
public final class RedisPipelines {

  private static final Logger log = LoggerFactory.getLogger(RedisPipelines.class);

  /** Past this many commands on one connection, new ones go to the next connection of the node. */
  private static final int SPILL_OVER = 1024;

  /** How long a command that met TRYAGAIN (a slot migrating) waits before it is sent again. */
  private static final long TRYAGAIN_PAUSE_NANOS = 2_000_000;
  /** How often an unreachable node may make the topology be read again. */
  private static final long TOPOLOGY_LOOK_NANOS = 250_000_000;
  /**
   * While Redis has none of a connection's commands to run, the first this many checks of a turn
   * leave at once instead of at its end; a script that decides several checks counts as that many.
   */
  public static final int EARLY_WRITE = PipelinedConnection.EARLY_WRITE;

  private final Observer observer;
  private final Vertx vertx;
  private final Context context;
  /** The context's Netty loop, reached once at start: a Vert.x without it fails here, not on a check. */
  private final EventLoop eventLoop;
  private final NetClient netClient;
  private final RedisTopology topology;
  private final RedisBreakers breakers;
  private final RedisFaults faults;
  private final List<LuaScript> scripts;
  private final int connectionsPerNode;
  private final long handshakeTimeoutMs;
  private final long redisTimeoutMs;
  private final long stallMs;
  private final Map<String, Node> nodes = new HashMap<>();
  private long lastTopologyLookNanos = System.nanoTime();
  /** Inside {@link #inOneWrite}: the commands sent wait for the end of the turn, together. */
  private int oneWriteDepth;

  /** What the connections tell the rest of the instance. Called on the event loop. */
  public interface Observer {

    /** A connection went down: what was read from Redis before may not hold for a Redis that comes back. */
    void connectionLost();

    /** {@code commands} commands, deciding {@code checks} checks, left in one socket write. */
    void wrote(int commands, int checks);
  }

  /**
   * @param connectionsPerNode connections this event loop keeps to each node
   * @param redisTimeoutMs     the oldest written command unanswered this long, while the loop ran: Redis does not answer
   * @param stallMs            a connection with commands unanswered this long is reopened
   */
  public RedisPipelines(Vertx vertx, RedisTopology topology, RedisBreakers breakers, RedisFaults faults,
                        List<LuaScript> scripts, int connectionsPerNode, long handshakeTimeoutMs, long redisTimeoutMs, long stallMs,
                        Observer observer) {
    this.observer = observer;
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.eventLoop = VertxInternals.eventLoop(context);
    RedisAccess any = topology.nodes().get(0);
    this.netClient = vertx.createNetClient(any.netOptions((int) handshakeTimeoutMs));
    this.topology = topology;
    this.breakers = breakers;
    this.faults = faults;
    this.scripts = List.copyOf(scripts);
    this.connectionsPerNode = connectionsPerNode;
    this.handshakeTimeoutMs = handshakeTimeoutMs;
    this.redisTimeoutMs = redisTimeoutMs;
    this.stallMs = stallMs;
  }

  /**
   * Opens every connection to every node, logged in and with the scripts loaded. Completes once
   * every one is ready; a connection that fails keeps trying (with backoff) until it is, and the
   * caller bounds the wait: an instance serves no check before its connections can carry it.
   */
  public Future<Void> open() {
    List<Future<Void>> opened = new ArrayList<>();
    for (RedisAccess access : topology.nodes()) {
      for (PipelinedConnection connection : node(access).connections) {
        opened.add(connection.opened());
      }
    }
    return Future.all(opened).mapEmpty();
  }

  /** Why a connection last failed to open, for a start that gives up; "no failure seen" when none did. */
  public String lastFailure() {
    for (Node node : nodes.values()) {
      for (PipelinedConnection connection : node.connections) {
        if (connection.lastFailure() != null) {
          return connection.lastFailure().toString();
        }
      }
    }
    return "no connection failed, none was ready in time";
  }

  /** How many connections of this event loop are up (for readiness and tests). */
  public int readyConnections() {
    int ready = 0;
    for (Node node : nodes.values()) {
      for (PipelinedConnection connection : node.connections) {
        if (connection.isReady()) {
          ready++;
        }
      }
    }
    return ready;
  }

  /**
   * Runs a script for a check. Every key carries the same hash tag (the first key routes it), or,
   * on a single Redis (not a Cluster), the keys of several users' checks.
   *
   * @param sendByNanos         not written to Redis by then, the call is shed ({@link ScriptCallback#onOverload})
   * @param callerDeadlineNanos past it, the caller no longer waits ({@link Long#MAX_VALUE}: no deadline)
   */
  public void eval(LuaScript script, String[] keys, Object[] args, long sendByNanos, long callerDeadlineNanos,
                   ScriptCallback callback) {
    eval(script, keys, args, 1, sendByNanos, callerDeadlineNanos, callback);
  }

  /** A script that decides {@code checks} checks at once. */
  public void eval(LuaScript script, String[] keys, Object[] args, int checks, long sendByNanos, long callerDeadlineNanos,
                   ScriptCallback callback) {
    ScriptCall call = new ScriptCall(script, keys, args, checks, sendByNanos, callerDeadlineNanos, callback);
    send(call, node(topology.nodeFor(keys[0])), false);
  }

  /**
   * Runs {@code sends}, whose scripts leave in one write per connection at the end of the turn even
   * when Redis is idle (a CheckBatch is one round trip, not one early write and the rest after).
   */
  public void inOneWrite(Runnable sends) {
    oneWriteDepth++;
    try {
      sends.run();
    } finally {
      oneWriteDepth--;
    }
  }

  /**
   * Runs {@code task} once this event-loop turn's I/O is done, before the writes of the commands
   * sent after this call: what it sends leaves with them.
   */
  public void atEndOfTurn(Runnable task) {
    eventLoop.execute(task);
  }

  /** @param asking precede it with ASKING (a cluster slot being migrated): both leave in the same write */
  private void send(ScriptCall call, Node node, boolean asking) {
    call.node = node;
    if (!node.breaker.allowsRequests()) {
      lookForANewMaster();
      call.callback.onUnavailable(Unavailable.BREAKER_OPEN, node.breaker.retryAfterMs());
      return;
    }
    PipelinedConnection connection = node.pick();
    if (connection == null) {
      lookForANewMaster();
      call.callback.onUnavailable(Unavailable.DISCONNECTED, node.breaker.retryAfterMs());
      return;
    }
    if (asking) {
      connection.send(new CommandCall("ASKING"), false);
    }
    call.sent = false;
    connection.send(call, oneWriteDepth == 0);
  }

  /**
   * A node that cannot be reached may be a master that died: in a Cluster its replica takes over
   * its slots without any redirect telling us, so the topology is asked again, often enough to
   * follow the promotion within a fraction of a second, seldom enough to cost nothing.
   */
  private void lookForANewMaster() {
    long now = System.nanoTime();
    if (now - lastTopologyLookNanos > TOPOLOGY_LOOK_NANOS) {
      lastTopologyLookNanos = now;
      topology.refresh();
    }
  }

  private Node node(RedisAccess access) {
    Node node = nodes.get(access.address());
    if (node == null) {
      node = new Node(access);
      nodes.put(access.address(), node);
    }
    return node;
  }

  private void onReply(ScriptCall call, Object reply) {
    Node node = call.node;
    if (!(reply instanceof RedisError error)) {
      node.breaker.success();
      if (call.late) {
        call.callback.onLateReply(reply);
      } else {
        call.callback.onReply(reply);
      }
      return;
    }
    // Redis answered, even if with an error: it is there.
    String prefix = error.prefix();
    if (LuaScript.NOT_LOADED.equals(prefix)) {
      // The script did not run (SCRIPT FLUSH, or a restart the connection did not notice): EVAL runs and caches it.
      if (!call.late && !call.useEval) {
        call.useEval = true;
        send(call, node, false);
      } else if (!call.late) {
        answerFault(call, RedisFault.SCRIPT, error.message());
      }
    } else if ("MOVED".equals(prefix) || "ASK".equals(prefix)) {
      redirect(call, error, "ASK".equals(prefix));
    } else if (error.readOnly()) {
      // A failover made this node a replica: its connections go, and the topology is asked again.
      node.breaker.failure(new IllegalStateException(error.message()));
      topology.refresh();
      node.reopen();
      if (!call.late) {
        call.callback.onUnavailable(Unavailable.FAILOVER, node.breaker.retryAfterMs());
      }
    } else if ("TRYAGAIN".equals(prefix)) {
      // A slot is being migrated and the call's keys are on both sides for a moment: it did not run.
      // Asked again shortly, it runs once the keys have moved; the node is not failing, so no breaker hears of it.
      if (!call.late && System.nanoTime() + TRYAGAIN_PAUSE_NANOS < call.unsentLimitNanos()) {
        vertx.setTimer(TRYAGAIN_PAUSE_NANOS / 1_000_000, pause -> send(call, node(topology.nodeFor(call.keys[0])), false));
      } else if (!call.late) {
        call.callback.onUnavailable(Unavailable.REDIS_BUSY, node.breaker.retryAfterMs());
      }
    } else if (error.cannotServe()) {
      failedChecks(call, new IllegalStateException(error.message()));
      if (!call.late) {
        call.callback.onUnavailable(Unavailable.REDIS_BUSY, node.breaker.retryAfterMs());
      }
    } else {
      node.breaker.success();
      if (call.late) {
        faults.record(RedisFault.of(error), error.message());
      } else {
        answerFault(call, RedisFault.of(error), error.message());
      }
    }
  }

  private void answerFault(ScriptCall call, RedisFault fault, String detail) {
    call.callback.onFault(fault, faults.record(fault, detail));
  }

  /** {@code MOVED <slot> <host>:<port>} or {@code ASK <slot> <host>:<port>}: the command did not run; send it there. */
  private void redirect(ScriptCall call, RedisError error, boolean ask) {
    String[] parts = error.message().split(" ");
    int colon = parts.length == 3 ? parts[2].lastIndexOf(':') : -1;
    if (colon <= 0) {
      if (!call.late) {
        answerFault(call, RedisFault.ERROR, "unreadable redirect: " + error.message());
      }
      return;
    }
    RedisAccess target = call.node.access.at(parts[2].substring(0, colon), Integer.parseInt(parts[2].substring(colon + 1)));
    if (!ask) {
      topology.moved(Integer.parseInt(parts[1]), target);
    }
    if (call.late || ++call.redirects > 5) {
      if (!call.late) {
        call.callback.onUnavailable(Unavailable.REDIS_BUSY, call.node.breaker.retryAfterMs());
      }
      return;
    }
    send(call, node(target), ask);
  }


  /**
   * The breaker counts each check a failed call decided: it opens after as many checks failed in a
   * row whether they came one by one or shared calls.
   */
  private static void failedChecks(ScriptCall call, Throwable cause) {
    for (int i = 0; i < call.checks(); i++) {
      call.node.breaker.failure(cause);
    }
  }

  private void onConnectionLost(ScriptCall call) {
    if (!call.late) {
      call.late = true;
      call.callback.onUnavailable(Unavailable.DISCONNECTED, call.node.breaker.retryAfterMs());
    }
  }

  public Future<Void> close() {
    List<Future<Void>> closed = new ArrayList<>();
    for (Node node : nodes.values()) {
      for (PipelinedConnection connection : node.connections) {
        closed.add(connection.close());
      }
    }
    return Future.join(closed).eventually(netClient::close).mapEmpty();
  }

  /** The connections of this event loop to one node. */
  private final class Node implements PipelinedConnection.Listener {
    final RedisAccess access;
    final RedisBreaker breaker;
    final PipelinedConnection[] connections;
    /** Until a first connection was ready, checks wait for it (within their limits) rather than fail. */
    boolean everReady;

    Node(RedisAccess access) {
      this.access = access;
      this.breaker = breakers.forNode(access);
      this.connections = new PipelinedConnection[connectionsPerNode];
      for (int i = 0; i < connectionsPerNode; i++) {
        connections[i] = new PipelinedConnection(vertx, context, netClient, access, scripts, handshakeTimeoutMs, redisTimeoutMs, stallMs,
            this);
      }
    }

    /**
     * The connection for the next command: the first ready one, so that a turn's commands share one
     * write, and the next when it is very busy; before any was ready, one that is opening.
     */
    PipelinedConnection pick() {
      PipelinedConnection chosen = null;
      for (PipelinedConnection connection : connections) {
        if (connection.isAnswering()) {
          if (connection.outstanding() < SPILL_OVER) {
            return connection;
          }
          if (chosen == null || connection.outstanding() < chosen.outstanding()) {
            chosen = connection;
          }
        }
      }
      if (chosen == null && !everReady) {
        // A node first heard of now (a Cluster redirect): its connections open, and checks wait for the first.
        chosen = connections[0];
        for (PipelinedConnection connection : connections) {
          connection.open();
        }
      }
      return chosen;
    }

    void reopen() {
      for (PipelinedConnection connection : connections) {
        connection.reconnect();
      }
    }

    @Override
    public void onReady(PipelinedConnection connection) {
      everReady = true;
    }

    @Override
    public void onStalled(PipelinedConnection connection) {
      breaker.trip(new java.util.concurrent.TimeoutException("redis " + access.address() + " left a written command unanswered for "
          + redisTimeoutMs + " ms while the event loop was free to read"));
    }

    @Override
    public void onDown(PipelinedConnection connection, Throwable cause) {
      log.debug("connection to redis {} down: {}", access.address(), cause.toString());
      breaker.failure(cause);
      observer.connectionLost();
    }

    @Override
    public void onWrite(int commands, int checks) {
      observer.wrote(commands, checks);
    }
  }

  /** A check's script call, as it travels: possibly resent as EVAL, or to another node. */
  private final class ScriptCall extends RedisCall {
    final LuaScript script;
    final String[] keys;
    final Object[] args;
    final int checks;
    final ScriptCallback callback;
    Node node;
    boolean useEval;
    int redirects;

    ScriptCall(LuaScript script, String[] keys, Object[] args, int checks, long sendByNanos, long callerDeadlineNanos,
               ScriptCallback callback) {
      this.script = script;
      this.checks = checks;
      this.keys = keys;
      this.args = args;
      this.callback = callback;
      this.sendByNanos = sendByNanos;
      this.deadlineNanos = callerDeadlineNanos;
    }

    @Override
    int checks() {
      return checks;
    }

    @Override
    void encode(ByteBuf out) {
      Resp.arrayHeader(out, 3 + keys.length + args.length);
      if (useEval) {
        Resp.bulk(out, "EVAL");
        Resp.bulk(out, script.source());
      } else {
        Resp.bulk(out, "EVALSHA");
        Resp.bulk(out, script.sha());
      }
      Resp.bulk(out, keys.length);
      for (String key : keys) {
        Resp.bulk(out, key);
      }
      for (Object arg : args) {
        Resp.bulk(out, arg);
      }
    }

    @Override
    void onReply(Object reply) {
      RedisPipelines.this.onReply(this, reply);
    }

    @Override
    void onDeadline() {
      callback.onDeadline();
    }

    @Override
    void onShed() {
      callback.onOverload();
    }

    @Override
    void onStalled() {
      callback.onUnavailable(Unavailable.TIMEOUT, node.breaker.retryAfterMs());
    }

    @Override
    void onConnectionLost(Throwable cause) {
      RedisPipelines.this.onConnectionLost(this);
    }
  }
}
