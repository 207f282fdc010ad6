package io.sluice.grpc;

import io.netty.channel.Channel;
import io.sluice.config.Settings;
import io.sluice.ops.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.impl.HttpServerConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one client may hold of the gRPC port, on one event loop: no client behaviour may exhaust
 * the instance. Each call holds memory (a Vert.x HTTP/2 stream costs about 5 KiB) from its arrival
 * until its peer takes the answer; a peer that does not read (an HTTP/2 window of 0, a socket never
 * read) would make the instance hold every call it is sent. So:
 * <ul>
 *   <li>connections past {@code maxConnections} (over the whole process) are closed on arrival;</li>
 *   <li>a connection holding {@code maxStreamsPerConnection} calls is no longer read: its peer must
 *       take answers before it may ask more (this holds even for a peer that never acknowledged the
 *       HTTP/2 settings that announce the limit, which the HTTP/2 stack enforces only then);</li>
 *   <li>a connection whose peer takes none of its answers for {@code slowReaderTimeoutMs} is closed;</li>
 *   <li>when this event loop's share of the instance's budget of answers waiting for their peers is
 *       spent, the connection holding most of them is closed.</li>
 * </ul>
 *
 * <p>Reading is stopped and connections closed on their Netty channel: Vert.x has no public way to
 * a server connection's channel, and its internal {@link HttpServerConnection} is the one place
 * this project reaches for it (with {@link GrpcVerticle}'s flush hook). Every method runs on the
 * owning event loop.
 */
public final class ConnectionGuards {

  private static final Logger log = LoggerFactory.getLogger(ConnectionGuards.class);

  /** Connections open on the gRPC port and answers waiting on them, over every event loop of the process. */
  public static final class Open {
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicInteger answersWaiting = new AtomicInteger();
  }

  /** One call on a connection, from its arrival to its end: exactly one of the two is called. */
  interface Call {
    Call UNGUARDED = new Call() {
      @Override
      public void answered(Future<?> written) {
      }

      @Override
      public void abandoned() {
      }
    };

    /** Its answer was handed to the connection; {@code written} completes once the peer can have it. */
    void answered(Future<?> written);

    /** Its caller reset the stream before an answer: nothing more is held for it. */
    void abandoned();
  }

  private final Vertx vertx;
  private final Settings.Connections limits;
  private final Open open;
  private final int answersBudget;
  private final Metrics metrics;
  private final long slowReaderNanos;
  private final Map<HttpConnection, Guard> guards = new HashMap<>();
  private int answersWaiting;
  private long sweepTimer = -1;

  /** @param answersBudget answers that may wait for their peers on this event loop's connections at once */
  ConnectionGuards(Vertx vertx, Settings.Connections limits, Open open, int answersBudget, Metrics metrics) {
    this.vertx = vertx;
    this.limits = limits;
    this.open = open;
    this.answersBudget = answersBudget;
    this.metrics = metrics;
    this.slowReaderNanos = limits.slowReaderTimeoutMs() * 1_000_000L;
  }

  /** A connection arrived: counted, or closed at once when the port holds as many as it may. */
  void arrived(HttpConnection connection) {
    if (!(connection instanceof HttpServerConnection server)) {
      log.error("a gRPC connection is a {}, not Vert.x's HttpServerConnection: it cannot be guarded", connection.getClass());
      return;
    }
    Channel channel = server.channelHandlerContext().channel();
    if (open.connections.incrementAndGet() > limits.maxConnections()) {
      open.connections.decrementAndGet();
      metrics.connectionClosed("max_connections");
      log.warn("refused a gRPC connection from {}: the port holds maxConnections ({}) already", channel.remoteAddress(),
          limits.maxConnections());
      channel.close();
      return;
    }
    Guard guard = new Guard(channel);
    guards.put(connection, guard);
    connection.closeHandler(closed -> {
      if (guards.remove(connection) == guard) {
        open.connections.decrementAndGet();
        guard.closing = true;
        release(guard.waiting);
      }
    });
    if (sweepTimer < 0) {
      sweepTimer = vertx.setPeriodic(Math.max(50, limits.slowReaderTimeoutMs() / 4), tick -> closeSlowReaders());
    }
  }

  /** A call arrived on {@code connection}. */
  Call started(HttpConnection connection) {
    Guard guard = guards.get(connection);
    if (guard == null) {
      return Call.UNGUARDED;
    }
    guard.held++;
    if (guard.held >= limits.maxStreamsPerConnection() && !guard.readingStopped) {
      // What its peer sends now stays in its socket until it takes answers.
      guard.readingStopped = true;
      guard.channel.config().setAutoRead(false);
    }
    return guard;
  }

  private void release(int answers) {
    if (answers > 0) {
      answersWaiting -= answers;
      open.answersWaiting.addAndGet(-answers);
    }
  }

  private void closeTheGreediest() {
    Guard greediest = null;
    for (Guard guard : guards.values()) {
      if (!guard.closing && (greediest == null || guard.waiting > greediest.waiting)) {
        greediest = guard;
      }
    }
    if (greediest != null) {
      close(greediest, "answers_budget", "this event loop holds its budget of " + answersBudget
          + " answers waiting for their peers, " + greediest.waiting + " of them for this connection");
    }
  }

  private void closeSlowReaders() {
    long now = System.nanoTime();
    for (Guard guard : List.copyOf(guards.values())) {
      if (guard.waiting > 0 && !guard.closing && now - guard.progressNanos > slowReaderNanos) {
        close(guard, "slow_reader", "its peer took none of its " + guard.waiting + " answers for " + limits.slowReaderTimeoutMs() + " ms");
      }
    }
  }

  /** Closes a connection now; the answers it held no longer count, since closing frees them. */
  private void close(Guard guard, String reason, String why) {
    guard.closing = true;
    release(guard.waiting);
    guard.waiting = 0;
    metrics.connectionClosed(reason);
    log.warn("closed the gRPC connection from {}: {}", guard.channel.remoteAddress(), why);
    guard.channel.close();
  }

  void stop() {
    if (sweepTimer >= 0) {
      vertx.cancelTimer(sweepTimer);
    }
  }

  /** One connection: the calls it holds, and the answers among them waiting for its peer. */
  private final class Guard implements Call {
    final Channel channel;
    int held;
    int waiting;
    /** When its peer last took an answer, or when answers began to wait, whichever is later. */
    long progressNanos;
    boolean readingStopped;
    boolean closing;

    Guard(Channel channel) {
      this.channel = channel;
    }

    @Override
    public void answered(Future<?> written) {
      if (written.isComplete() || closing) {
        ended();
        return;
      }
      if (waiting == 0) {
        progressNanos = System.nanoTime();
      }
      waiting++;
      answersWaiting++;
      open.answersWaiting.incrementAndGet();
      written.onComplete(done -> taken());
      if (answersWaiting > answersBudget) {
        closeTheGreediest();
      }
    }

    private void taken() {
      if (closing) {
        return;
      }
      waiting--;
      release(1);
      progressNanos = System.nanoTime();
      ended();
    }

    @Override
    public void abandoned() {
      ended();
    }

    private void ended() {
      held--;
      if (readingStopped && held <= limits.maxStreamsPerConnection() / 2 && !closing) {
        readingStopped = false;
        channel.config().setAutoRead(true);
      }
    }
  }
}
