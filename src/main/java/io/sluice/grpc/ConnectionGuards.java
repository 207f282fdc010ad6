package io.sluice.grpc;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.sluice.config.Settings;
import io.sluice.platform.VertxInternals;
import io.sluice.telemetry.Health;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * What one client may hold of the gRPC port, on one event loop: no client behaviour may exhaust
 * the instance. Each call holds memory (a Vert.x HTTP/2 stream costs about 5 KiB) from its arrival
 * until its peer takes the answer; a peer that does not read (an HTTP/2 window of 0, a socket never
 * read) would make the instance hold every call it is sent. So:
 * <ul>
 *   <li>connections past {@code maxConnections} (over the whole process) are closed on arrival;</li>
 *   <li>a stream past {@code maxStreamsPerConnection} on its connection (answers its peer has not
 *       taken included) is refused unread ({@code REFUSED_STREAM}): the HTTP/2 stack enforces the
 *       limit only once the peer acknowledged the settings announcing it, and a client's first flight
 *       comes before that. Every stream counts (a Health/Watch that stays open too). A peer that goes on
 *       past the limit a second after it connected, without having acknowledged the settings, is closed;</li>
 *   <li>the first flights of one event-loop turn share {@link #FIRST_FLIGHT_PER_TURN} streams
 *       ({@link #firstFlightAdmits}); the rest are refused the same way;</li>
 *   <li>while the instance holds more than half of {@code maxChecksInFlight} checks, a connection
 *       that opens a stream past its fair share of that half is told to hold no more than the share
 *       ({@code SETTINGS_MAX_CONCURRENT_STREAMS}, see {@link #holdToFairShare}), and is given its
 *       {@code maxStreamsPerConnection} back once the instance has held at most a quarter for a second;</li>
 *   <li>a connection with {@code maxStreamsPerConnection} calls being decided is no longer read until
 *       half of them are answered;</li>
 *   <li>a connection that holds or sent lately more than {@link #FAIR_SHARE} calls, one of which was
 *       shed (the instance is at {@code maxChecksInFlight}), is not read for a while: a quarter of a
 *       second, four times longer each time it is shed again soon after (up to
 *       {@link #MAX_SHED_PAUSE_MS}). Its next requests wait in its own socket rather than be read
 *       only to be shed, and a client with a call now and then is still read at once;</li>
 *   <li>a connection whose peer takes none of its answers for {@code slowReaderTimeoutMs} is closed;</li>
 *   <li>when this event loop's share of the instance's budget of answers waiting for their peers is
 *       spent, the connection holding most of them is closed.</li>
 * </ul>
 *
 * <p>Only calls whose request arrived whole and whose answer is not yet written count toward
 * stopping the reading: a call still waiting for the rest of its request, or an answer waiting for
 * the peer's window (a WINDOW_UPDATE is read like any frame), would wait for ever on a connection
 * no longer read.
 *
 * <p>Reading is held back by a handler in the connection's Netty pipeline that holds back its read
 * requests ({@link ReadGate}), not by the channel's auto-read flag, which Vert.x turns back on
 * whenever its own queue of messages drains. That stops an NIO channel only while its auto-read is
 * off: with auto-read on, the channel keeps its socket's read interest and is read when data comes,
 * read requests or not (docs/benchmarks.md measured it, and why turning auto-read off here was not
 * kept). Connections are closed on their channel, reached through {@link VertxInternals#channelOf}
 * (Vert.x has no public way to it); a connection it cannot reach is refused. Every method runs
 * on the owning event loop. Long because its defences (connections, streams, slow readers, resets,
 * answers waiting) share one record per connection and one sweep.
 */
public final class ConnectionGuards {

  private static final Logger log = LoggerFactory.getLogger(ConnectionGuards.class);

  /** Connections open on the gRPC port and answers waiting on them, over every event loop of the process. */
  public static final class Open {
    public final AtomicInteger connections = new AtomicInteger();
    public final AtomicInteger answersWaiting = new AtomicInteger();
    /** Connections holding a stream or more: those that share the instance's calls in flight. */
    public final AtomicInteger holdingStreams = new AtomicInteger();
  }

  /** One call on a connection, from its arrival to its end: {@link #received} at most once, then exactly one of the other two. */
  interface Call {
    Call UNGUARDED = new Call() {
      @Override
      public void received() {
      }

      @Override
      public void answered(Future<?> written, boolean received) {
      }

      @Override
      public void abandoned(boolean received) {
      }
    };

    /** Its request arrived whole: from now on it ends without reading anything more from the connection. */
    void received();

    /** It was shed, the instance being at its limit: the connection is not read for a while. */
    default void shed() {
    }

    /**
     * Its answer was handed to the connection; {@code written} completes once the peer can have it.
     *
     * @param received whether {@link #received} was called for it
     */
    void answered(Future<?> written, boolean received);

    /** Its caller reset the stream before an answer, or it could not be answered: nothing more is held for it. */
    void abandoned(boolean received);
  }

  /**
   * Calls a connection may hold, and may have sent within {@link #RECENT_NANOS}, and still count as
   * light: not paused when shed, admitted past the limit's edge.
   */
  static final int FAIR_SHARE = 8;
  static final long RECENT_NANOS = 100_000_000L;

  /** How long a new connection may open streams past the limit, before its peer has read the server's settings. */
  static final long SETTINGS_GRACE_NANOS = 1_000_000_000L;

  /** Streams of first flights one turn of an event loop takes, over all its connections (see {@link #firstFlightAdmits}). */
  static final int FIRST_FLIGHT_PER_TURN = 64;

  /**
   * The fewest streams a connection is held to while the instance is contended: every stream counts,
   * so a Health/Watch that stays open leaves three for checks.
   */
  static final int LEAST_FAIR_SHARE = 4;

  /** How long the instance holds at most a quarter of {@code maxChecksInFlight} before connections held to a share get their limit back. */
  static final long UNCONTENDED_NANOS_BEFORE_RESTORE = 1_000_000_000L;

  /** HTTP/2's "the stream was not processed": safe for the client to send again. */
  private static final long REFUSED_STREAM = 0x7;

  /** The longest a connection whose calls keep being shed goes unread. */
  static final long MAX_SHED_PAUSE_MS = 2_000;

  private final Vertx vertx;
  private final Settings.Connections limits;
  private final long shedPauseMs;
  private final Open open;
  private final int answersBudget;
  private final Metrics metrics;
  private final long slowReaderNanos;
  private final IntSupplier checksInFlight;
  private final int maxChecksInFlight;
  /** Half of {@code maxChecksInFlight}: the calls in flight past which connections share it; 0 if too few to share. */
  private final int sharedHalf;
  private final Map<HttpConnection, Guard> guards = new HashMap<>();
  /** Whether a connection of this event loop may still be told to hold fewer than {@code maxStreamsPerConnection} streams. */
  private boolean someHeldToShare;
  /** When the instance was last seen here holding more than a quarter of {@code maxChecksInFlight} ({@link System#nanoTime()}). */
  private long busyNanos;
  private int answersWaiting;
  private int firstFlightLeft = FIRST_FLIGHT_PER_TURN;
  private long sweepTimer = -1;

  /**
   * @param answersBudget answers that may wait for their peers on this event loop's connections at once
   * @param shedPauseMs   how long a connection whose call was shed is first not read
   * @param checksInFlight the instance's checks in flight now, over every event loop
   */
  ConnectionGuards(Vertx vertx, Settings.Connections limits, Open open, int answersBudget, long shedPauseMs, Metrics metrics,
                   IntSupplier checksInFlight, int maxChecksInFlight) {
    this.vertx = vertx;
    this.limits = limits;
    this.shedPauseMs = shedPauseMs;
    this.open = open;
    this.answersBudget = answersBudget;
    this.metrics = metrics;
    this.slowReaderNanos = limits.slowReaderTimeoutMs() * 1_000_000L;
    this.checksInFlight = checksInFlight;
    this.maxChecksInFlight = maxChecksInFlight;
    this.sharedHalf = maxChecksInFlight / 2 < LEAST_FAIR_SHARE ? 0 : maxChecksInFlight / 2;
  }

  /**
   * A connection arrived: counted, or closed at once when the port holds as many as it may.
   *
   * @return whether it is served (not refused)
   */
  boolean arrived(HttpConnection connection) {
    Channel channel;
    try {
      channel = VertxInternals.channelOf(connection).channel();
    } catch (IllegalStateException unguardable) {
      // Served unguarded, one client could take the instance down: refused, and said loudly.
      log.error("refused a gRPC connection that cannot be guarded: {}", unguardable.getMessage());
      connection.close();
      return false;
    }
    if (open.connections.incrementAndGet() > limits.maxConnections()) {
      open.connections.decrementAndGet();
      metrics.connectionClosed("max_connections");
      log.warn("refused a gRPC connection from {}: the port holds maxConnections ({}) already", channel.remoteAddress(),
          limits.maxConnections());
      channel.close();
      return false;
    }
    Guard guard = new Guard(channel, connection);
    guards.put(connection, guard);
    Http2ConnectionHandler http2 = channel.pipeline().get(Http2ConnectionHandler.class);
    if (http2 != null) {
      http2.decoder().frameListener(new RefusingUnread(guard, http2, http2.decoder().frameListener()));
      guard.refusedByFrames = true;
    }
    // The channel's own close future, not the connection's close handler: that holds one handler,
    // which another user of the connection (a Health/Watch stream) would replace.
    channel.closeFuture().addListener(closed -> {
      if (guards.remove(connection) == guard) {
        open.connections.decrementAndGet();
        guard.closing = true;
        release(guard.waiting);
      }
    });
    if (sweepTimer < 0) {
      sweepTimer = vertx.setPeriodic(Math.max(50, limits.slowReaderTimeoutMs() / 4), tick -> {
        closeSlowReaders();
        restoreLimitsOnceUncontended();
      });
    }
    return true;
  }

  /** Whether the connection asks little: a backend asking now and then, not one flooding the instance. */
  boolean light(HttpConnection connection) {
    Guard guard = guards.get(connection);
    return guard == null || guard.light();
  }

  /**
   * Lets a request through to {@code next} unless its connection already holds
   * {@code maxStreamsPerConnection} streams: a peer gets there only before it has read the server's
   * settings (a client's first flight of requests) or by ignoring them. Such a stream is reset with
   * {@code REFUSED_STREAM} before anything is decoded or decided for it, which costs the instance
   * next to nothing and tells the client the request was not processed (gRPC clients retry it
   * transparently). Deciding them instead had the first flight of 500 connections x 100 streams
   * delay everyone else's answers by seconds.
   *
   * <p>Every HTTP/2 stream counts, from its request to its close (its answer written to the peer):
   * checks, a Health/Watch that stays open, reflection, so none of them lifts the limit.
   */
  Handler<HttpServerRequest> refusingStreamsPastTheLimit(Handler<HttpServerRequest> next) {
    return request -> {
      Guard guard = guards.get(request.connection());
      // HTTP/1.1 (gRPC-Web) has one request at a time on a connection, and calls a response's close
      // handler only when the connection closes under it: only HTTP/2 streams are counted.
      if (guard == null || request.version() != HttpVersion.HTTP_2) {
        next.handle(request);
      } else if (guard.streams >= limits.maxStreamsPerConnection() || (!guard.refusedByFrames && !firstFlightAdmits(guard))) {
        metrics.streamRefused();
        request.response().reset(REFUSED_STREAM);
        refusedPastTheLimit(guard);
      } else {
        if (guard.streams++ == 0) {
          open.holdingStreams.incrementAndGet();
        }
        // No other user of a gRPC response sets its close handler (Vert.x's gRPC server does not), and
        // for HTTP/2 it is called for every stream, however it ends.
        request.response().closeHandler(closed -> {
          if (--guard.streams == 0) {
            open.holdingStreams.decrementAndGet();
          }
        });
        holdToFairShare(guard);
        next.handle(request);
      }
    };
  }

  /**
   * Every call a connection holds is a place in the queue in front of every other client's calls,
   * in Redis's pipeline and in each pass of the event loop: how long a polite backend waits is the
   * number of calls held divided by the pace the instance answers at. So while the instance holds
   * more than half of {@code maxChecksInFlight}, that half is shared between the connections that
   * hold streams (idle ones take no share): one that opens a stream past {@code half / connections}
   * (at least {@link #LEAST_FAIR_SHARE}) is told, by a SETTINGS frame, to hold no more, which any
   * HTTP/2 client obeys by queueing its calls itself, and the HTTP/2 stack enforces once the peer
   * acknowledged it. What it sent past the share before that is not refused: a refusal counts
   * toward {@code rstFloodMax}, and Vert.x's gRPC client, unlike grpc-java, does not send a refused
   * call again, so its callers would see errors ({@code OverloadTest}). A connection holding no
   * more than its share is left alone. 500 connections held to 16 streams each kept a polite
   * backend waiting past its deadline for 8 of 360 answers; held to their shares, for none after
   * the flood's first 3 s (docs/benchmarks.md).
   */
  private void holdToFairShare(Guard guard) {
    if (sharedHalf == 0 || (guard.streams <= LEAST_FAIR_SHARE && !someHeldToShare)) {
      return;
    }
    int inFlight = checksInFlight.getAsInt();
    if (inFlight > maxChecksInFlight / 4) {
      busyNanos = System.nanoTime();
    }
    if (guard.streams <= LEAST_FAIR_SHARE || inFlight <= sharedHalf) {
      return;
    }
    int share = Math.max(LEAST_FAIR_SHARE, sharedHalf / Math.max(1, open.holdingStreams.get()));
    if (guard.streams > share && guard.streamLimit > share && !guard.closing && announceStreamLimit(guard, share)) {
      someHeldToShare = true;
      metrics.streamLimitLowered();
    }
  }

  /**
   * Below a quarter, not a half: connections held to their shares hold up to half between them, so
   * giving the limits back at the half would take them back at once, and the flood with them.
   */
  private void restoreLimitsOnceUncontended() {
    if (!someHeldToShare) {
      return;
    }
    long now = System.nanoTime();
    if (checksInFlight.getAsInt() > maxChecksInFlight / 4) {
      // Busy on other event loops, or on connections here that opened nothing lately.
      busyNanos = now;
    }
    if (now - busyNanos < UNCONTENDED_NANOS_BEFORE_RESTORE) {
      return;
    }
    boolean stillHeld = false;
    for (Guard guard : List.copyOf(guards.values())) {
      if (guard.streamLimit < limits.maxStreamsPerConnection() && !guard.closing
          && !announceStreamLimit(guard, limits.maxStreamsPerConnection())) {
        stillHeld = true;
      }
    }
    someHeldToShare = stillHeld;
  }

  /**
   * @return whether it was announced: not while the peer has yet to acknowledge the last one, nor
   * the server's first settings (Vert.x completes updates by acknowledgements in order, and the
   * first settings are not among them). Vert.x leaves out of an update what equals the settings
   * acknowledged, so a limit given back before the lowering was acknowledged would be sent without
   * the limit, and the lowering would hold for good.
   */
  private boolean announceStreamLimit(Guard guard, int streams) {
    if ((guard.announcement != null && !guard.announcement.isComplete())
        || !(guard.settingsAcknowledged || acknowledgedSettings(guard.channel))) {
      return false;
    }
    guard.streamLimit = streams;
    // The settings in force with this one changed: an update carries only what differs from them.
    guard.announcement = guard.connection.updateSettings(new Http2Settings(guard.connection.settings()).setMaxConcurrentStreams(streams));
    return true;
  }

  /**
   * Whether a stream of a connection whose peer has not yet acknowledged the server's settings (its
   * first flight) is taken in this turn of the event loop. All of one turn's first flights share
   * {@link #FIRST_FLIGHT_PER_TURN} streams; the rest are refused unread. Hundreds of connections
   * opening at once (an attacker, or a fleet of backends restarting) each bring a first flight
   * that is read in one turn: deciding all of them (500 x 16 calls, on a cold JIT) kept an event
   * loop away from its established connections for two seconds, past their callers' deadlines. A
   * refused stream is retried by its client, by then on a connection that read the settings.
   */
  private boolean firstFlightAdmits(Guard guard) {
    if (guard.settingsAcknowledged) {
      return true;
    }
    if (acknowledgedSettings(guard.channel)) {
      guard.settingsAcknowledged = true;
      return true;
    }
    // A peer that has not read the settings a second after its first stream was read gets none of
    // the budget: else connections that never acknowledge them, each sending a few streams a turn,
    // could spend every turn's budget for good. Its streams are refused, and past the limit it is
    // closed. From its first stream, not its connection: an event loop that reads a connection late
    // reads its first flight and its acknowledgement together, and that peer did nothing wrong.
    long now = System.nanoTime();
    if (guard.firstStreamNanos == 0) {
      guard.firstStreamNanos = now;
    } else if (now - guard.firstStreamNanos > SETTINGS_GRACE_NANOS) {
      return false;
    }
    if (firstFlightLeft == 0) {
      return false;
    }
    if (firstFlightLeft == FIRST_FLIGHT_PER_TURN) {
      try {
        // Runs once this turn's reads have been handled: the next turn's first flights share a new budget.
        guard.channel.eventLoop().execute(() -> firstFlightLeft = FIRST_FLIGHT_PER_TURN);
      } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
        return false;
      }
    }
    firstFlightLeft--;
    return true;
  }

  /**
   * Once its peer has acknowledged the settings, the HTTP/2 stack refuses a stream past the limit
   * itself, before it gets here. A peer that goes on past it without acknowledging them, longer than
   * a client needs to read them, is closed. Whether it acknowledged them is looked at once this read
   * has been handled: an event loop that read a connection late reads its first flight and its
   * acknowledgement together, and that peer did nothing wrong.
   */
  private void refusedPastTheLimit(Guard guard) {
    if (guard.closing || System.nanoTime() - guard.openedNanos <= SETTINGS_GRACE_NANOS
        || ++guard.refusedPastGrace <= limits.maxStreamsPerConnection() || guard.acknowledgementCheckDue) {
      return;
    }
    guard.acknowledgementCheckDue = true;
    guard.channel.eventLoop().execute(() -> {
      guard.acknowledgementCheckDue = false;
      if (!guard.closing && !acknowledgedSettings(guard.channel)) {
        close(guard, "streams", "its peer opened " + guard.refusedPastGrace + " streams past maxStreamsPerConnection ("
            + limits.maxStreamsPerConnection() + ") and has not acknowledged the settings announcing it");
      } else {
        guard.refusedPastGrace = 0;
      }
    });
  }

  /** Whether the peer acknowledged the server's settings: the HTTP/2 stack applies the stream limit only then. */
  private boolean acknowledgedSettings(Channel channel) {
    Http2ConnectionHandler http2 = channel.pipeline().get(Http2ConnectionHandler.class);
    return http2 == null || http2.connection().remote().maxActiveStreams() <= limits.maxStreamsPerConnection();
  }

  /** A call opened on {@code connection}: its stream was counted when its request arrived. */
  Call started(HttpConnection connection) {
    Guard guard = guards.get(connection);
    return guard == null ? Call.UNGUARDED : guard;
  }

  private void release(int answers) {
    if (answers > 0) {
      answersWaiting -= answers;
      open.answersWaiting.addAndGet(-answers);
    }
  }

  private boolean budgetCheckScheduled;

  /**
   * Two hops through the event loop's task queue: a connection's flush task is queued at its first
   * flush of the turn, which may come after the first hop was queued; after the second, every answer
   * of the turn has been flushed.
   */
  private void scheduleBudgetCheck(io.netty.channel.EventLoop loop, int hops) {
    try {
      loop.execute(() -> {
        if (hops > 1) {
          scheduleBudgetCheck(loop, hops - 1);
          return;
        }
        budgetCheckScheduled = false;
        if (answersWaiting > answersBudget) {
          closeTheGreediest();
        }
      });
      budgetCheckScheduled = true;
    } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
      budgetCheckScheduled = false;
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
    final HttpConnection connection;
    /** The most streams its peer was last told it may hold ({@code SETTINGS_MAX_CONCURRENT_STREAMS}). */
    int streamLimit = limits.maxStreamsPerConnection();
    /** The last change of {@link #streamLimit} announced: complete once the peer acknowledged it. */
    Future<Void> announcement;
    /** Streams open: calls whose request may not have arrived whole yet. */
    int streams;
    /** Streams refused past the limit a second or more after it opened, since the peer was last found to have acknowledged the settings. */
    int refusedPastGrace;
    /** Whether the peer's acknowledgement of the settings is to be looked at once the current read was handled. */
    boolean acknowledgementCheckDue;
    /** Whether its streams are refused as their frames are read ({@link RefusingUnread}), before Vert.x makes a request of them. */
    boolean refusedByFrames;
    /** Whether its peer was seen to have acknowledged the server's settings: its first flight is over. */
    boolean settingsAcknowledged;
    /** When its first stream was read before its peer acknowledged the settings ({@link System#nanoTime()}); 0 before. */
    long firstStreamNanos;
    /** Calls whose request arrived and whose answer is not written yet: each gets there whether or not the connection is read. */
    int held;
    int waiting;
    /** When its peer last took an answer, or when answers began to wait, whichever is later. */
    long progressNanos;
    boolean readingStopped;
    /** Not read for a while: a call of it was shed. */
    boolean pausedForShedding;
    /** Calls whose requests arrived since {@link #lateWindowNanos}, a window of {@link #RECENT_NANOS}. */
    int receivedLately;
    long lateWindowNanos;
    long pauseMs = shedPauseMs;
    long resumedNanos;
    boolean closing;

    final long openedNanos = System.nanoTime();
    final ReadGate gate = new ReadGate();

    Guard(Channel channel, HttpConnection connection) {
      this.channel = channel;
      this.connection = connection;
      channel.pipeline().addFirst("sluice-read-gate", gate);
    }

    /** Few calls held, and few arrived lately: shed calls are answered at once, so held alone does not show a flood. */
    boolean light() {
      return held <= FAIR_SHARE && receivedLately <= FAIR_SHARE;
    }

    @Override
    public void received() {
      long now = System.nanoTime();
      if (now - lateWindowNanos > RECENT_NANOS) {
        lateWindowNanos = now;
        receivedLately = 0;
      }
      receivedLately++;
      held++;
      if (!readingStopped && !closing && held >= limits.maxStreamsPerConnection()) {
        // What its peer sends now stays in its own socket until it holds fewer calls.
        readingStopped = true;
        updateGate();
      }
    }

    @Override
    public void shed() {
      if (pausedForShedding || closing || light()) {
        return;
      }
      long now = System.nanoTime();
      // Shed again soon after it was last read again: it floods, so it waits longer; else from the start.
      pauseMs = now - resumedNanos < 2 * pauseMs * 1_000_000L ? Math.min(MAX_SHED_PAUSE_MS, 4 * pauseMs) : shedPauseMs;
      pausedForShedding = true;
      updateGate();
      // Jittered: connections shed in one pass must not all be read again in one later pass.
      long jitteredMs = Math.min(MAX_SHED_PAUSE_MS, pauseMs / 2 + ThreadLocalRandom.current().nextLong(pauseMs));
      vertx.setTimer(jitteredMs, resume -> {
        resumedNanos = System.nanoTime();
        // Its answers could not be taken while its window updates went unread: that was our doing.
        progressNanos = resumedNanos;
        pausedForShedding = false;
        updateGate();
      });
    }

    @Override
    public void answered(Future<?> written, boolean received) {
      if (written.isComplete() || closing) {
        ended(received, true);
        return;
      }
      if (waiting == 0) {
        progressNanos = System.nanoTime();
      }
      waiting++;
      answersWaiting++;
      open.answersWaiting.incrementAndGet();
      written.onComplete(done -> taken(received));
      if (received) {
        // Answered: it no longer holds the connection's reading back, however long its peer takes.
        held--;
        resumeIfDue();
      }
      if (answersWaiting > answersBudget && !budgetCheckScheduled) {
        // Looked at once this turn's answers were flushed: those the peers took at once do not count.
        scheduleBudgetCheck(channel.eventLoop(), 2);
      }
    }

    private void taken(boolean received) {
      if (closing) {
        return;
      }
      waiting--;
      release(1);
      progressNanos = System.nanoTime();
      ended(received, false);
    }

    @Override
    public void abandoned(boolean received) {
      ended(received, true);
    }

    /** @param stillHeld whether it still counts among the calls being decided (not answered before) */
    private void ended(boolean received, boolean stillHeld) {
      if (received && stillHeld) {
        held--;
      }
      resumeIfDue();
    }

    private void resumeIfDue() {
      if (readingStopped && held <= limits.maxStreamsPerConnection() / 2 && !closing) {
        readingStopped = false;
        updateGate();
      }
    }

    /** Read while neither reason to stop holds; a closing connection reads nothing more. */
    private void updateGate() {
      if (readingStopped || pausedForShedding || closing) {
        gate.shut();
      } else {
        gate.open();
      }
    }
  }

  /**
   * Refuses a stream as its HEADERS frame is read, before Vert.x makes a stream, a request and a
   * response of it (which cost the cold instance about a third of a first flight's time): past
   * {@code maxStreamsPerConnection} or the turn's share of first flights ({@link #firstFlightAdmits}).
   * A refused stream's DATA is consumed here, and the stream is reset once its request ended, or at
   * the end of the read (then flushed): DATA of the same read is not met as frames of a stream
   * already closed, an error path of Netty's. Resets go through the encoder, so they count toward
   * {@code rstFloodMax} and Netty's cap on queued control frames, as Netty's own stream errors do.
   * With this, the first flight of 500 connections x 100 streams on a warmed-up instance kept a
   * polite check waiting 0.6-0.7 s instead of 0.8-1 s (docs/benchmarks.md).
   */
  private final class RefusingUnread extends io.netty.handler.codec.http2.Http2FrameListenerDecorator {
    private final Guard guard;
    private final Http2ConnectionHandler http2;
    private final io.netty.util.collection.IntObjectHashMap<Boolean> refused = new io.netty.util.collection.IntObjectHashMap<>();
    private int lastStreamId;
    private boolean resetScheduled;

    RefusingUnread(Guard guard, Http2ConnectionHandler http2, io.netty.handler.codec.http2.Http2FrameListener listener) {
      super(listener);
      this.guard = guard;
      this.http2 = http2;
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, io.netty.handler.codec.http2.Http2Headers headers, int padding,
                              boolean endOfStream) throws io.netty.handler.codec.http2.Http2Exception {
      if (!refuses(ctx, streamId, endOfStream)) {
        super.onHeadersRead(ctx, streamId, headers, padding, endOfStream);
      }
    }

    @Override
    public void onHeadersRead(ChannelHandlerContext ctx, int streamId, io.netty.handler.codec.http2.Http2Headers headers, int streamDependency,
                              short weight, boolean exclusive, int padding, boolean endOfStream) throws io.netty.handler.codec.http2.Http2Exception {
      if (!refuses(ctx, streamId, endOfStream)) {
        super.onHeadersRead(ctx, streamId, headers, streamDependency, weight, exclusive, padding, endOfStream);
      }
    }

    @Override
    public int onDataRead(ChannelHandlerContext ctx, int streamId, io.netty.buffer.ByteBuf data, int padding, boolean endOfStream)
        throws io.netty.handler.codec.http2.Http2Exception {
      if (refused.get(streamId) == null) {
        return super.onDataRead(ctx, streamId, data, padding, endOfStream);
      }
      if (endOfStream) {
        reset(ctx, streamId);
      }
      return data.readableBytes() + padding;
    }

    @Override
    public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) throws io.netty.handler.codec.http2.Http2Exception {
      if (refused.remove(streamId) == null) {
        super.onRstStreamRead(ctx, streamId, errorCode);
      }
    }

    /** Whether the stream a HEADERS frame opens is refused; trailers of a stream taken are not looked at. */
    private boolean refuses(ChannelHandlerContext ctx, int streamId, boolean endOfStream) {
      if (streamId <= lastStreamId) {
        return refused.get(streamId) != null;
      }
      lastStreamId = streamId;
      if (guard.closing || (guard.streams < limits.maxStreamsPerConnection() && firstFlightAdmits(guard))) {
        return false;
      }
      metrics.streamRefused();
      refusedPastTheLimit(guard);
      if (endOfStream) {
        http2.encoder().writeRstStream(ctx, streamId, REFUSED_STREAM, ctx.newPromise());
        return true;
      }
      refused.put(streamId, Boolean.TRUE);
      if (!resetScheduled) {
        resetScheduled = true;
        try {
          // After this read: a request whose last DATA frame has not come yet is reset then.
          ctx.executor().execute(() -> {
            resetScheduled = false;
            if (!ctx.channel().isActive()) {
              refused.clear();
              return;
            }
            for (int open : refused.keySet().stream().mapToInt(Integer::intValue).toArray()) {
              reset(ctx, open);
            }
            // The read's own flush has passed: these resets would otherwise wait for the next one.
            ctx.flush();
          });
        } catch (java.util.concurrent.RejectedExecutionException shuttingDown) {
          resetScheduled = false;
        }
      }
      return true;
    }

    private void reset(ChannelHandlerContext ctx, int streamId) {
      if (refused.remove(streamId) != null) {
        http2.encoder().writeRstStream(ctx, streamId, REFUSED_STREAM, ctx.newPromise());
      }
    }
  }

  /**
   * Holds back the reads Netty asks for while shut, and asks for one when opened again. A held-back
   * request keeps a channel unread only where the request is what would read it (auto-read off, as
   * Vert.x sets it while its own queue is full); an NIO channel with auto-read on is read regardless.
   */
  static final class ReadGate extends ChannelOutboundHandlerAdapter {
    private ChannelHandlerContext context;
    private boolean shut;
    private boolean readHeldBack;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      context = ctx;
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
      if (shut) {
        readHeldBack = true;
      } else {
        ctx.read();
      }
    }

    void shut() {
      shut = true;
    }

    void open() {
      shut = false;
      if (readHeldBack && context != null) {
        readHeldBack = false;
        context.read();
      }
    }
  }
}
