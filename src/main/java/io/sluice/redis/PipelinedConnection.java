package io.sluice.redis;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.sluice.config.RedisAccess;
import io.sluice.platform.VertxInternals;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One long-lived connection to one Redis node, owned by one event loop, on which many commands
 * are in flight at once. Commands sent during one event-loop turn leave in one socket write at the
 * end of that turn (the first few of them sooner when Redis is idle); replies come back in order and
 * answer the oldest command in flight.
 *
 * <p>It opens itself, logs in and loads the Lua scripts before it takes commands, and when it
 * breaks it fails what was waiting and opens again, after a backoff with jitter. A command not yet
 * written by its limit is dropped and never written (Sluice's own backlog, not Redis's fault); one
 * already written keeps its place, and its late reply is still delivered.
 *
 * <p>Redis is blamed only on evidence: the oldest command written and not answered has waited
 * {@code redisTimeoutMs} while the event loop was free to read. A timer that finds it so may itself
 * have run late, behind a busy loop or a GC pause, with the reply sitting unread in the socket; so
 * the stall is confirmed only by a second look, after the event loop has polled its sockets once
 * more, that finds the same command still unanswered. A stall answers every command on the
 * connection at once (pipelined replies come in order: none behind a silent one can come sooner)
 * and is reported to the listener, which opens the breaker. A stalled connection whose oldest command has waited
 * {@code stallMs} is taken for dead (a half-open socket, a Redis hung for good) and reopened.
 *
 * <p>Everything here runs on the owning event loop; nothing is thread-safe and nothing needs to be.
 * Long because it is one state machine (handshake, pipelining, stall, reconnect) over one socket
 * and one parser: the states change together.
 */
final class PipelinedConnection {

  private static final Logger log = LoggerFactory.getLogger(PipelinedConnection.class);

  /** Hears when the connection becomes usable and when it breaks. */
  interface Listener {
    void onReady(PipelinedConnection connection);

    void onDown(PipelinedConnection connection, Throwable cause);

    /** {@code commands} commands, deciding {@code checks} checks, left in one socket write. */
    void onWrite(int commands, int checks);

    /** The oldest command written waited the Redis timeout unanswered while the event loop ran. */
    default void onStalled(PipelinedConnection connection) {
    }
  }

  /** Long enough that the event loop polls its sockets at least once before the second look at a silent connection. */
  private static final long STALL_CONFIRM_NANOS = 1_000_000;

  private enum State { DOWN, CONNECTING, HANDSHAKE, READY, CLOSED }

  /**
   * Checks that need not wait for the end of the turn while Redis is idle. Checks arriving
   * together (16 read from one connection at once) would otherwise leave in one write only after
   * the last is decoded, and Redis would run all 16 while the instance waits, then the instance
   * answer all 16 while Redis waits: the two take turns on the cores. Writing the first 8 at once
   * lets Redis run them while the rest are read. A busy connection (commands in flight) keeps one
   * write per turn, so this costs no extra writes when Redis is the bottleneck; docs/benchmarks.md
   * has the figures (8 of 4, 8, 12 and 16 was the best).
   */
  static final int EARLY_WRITE = 8;
  static final long FIRST_BACKOFF_MS = 50;
  static final long MAX_BACKOFF_MS = 2_000;

  private final Vertx vertx;
  private final EventLoop eventLoop;
  private final NetClient netClient;
  private final RedisAccess node;
  private final List<LuaScript> scripts;
  private final long handshakeTimeoutMs;
  private final long redisTimeoutNanos;
  private final long stallNanos;
  private final Listener listener;
  private final RespParser parser = new RespParser();
  /** The parser is handing out the replies of one read: a reply that drops the connection must not free its buffer. */
  private boolean reading;
  private boolean reconnectAfterRead;
  private final ArrayDeque<RedisCall> unsent = new ArrayDeque<>();
  /** The checks the unsent commands decide. */
  private int unsentChecks;
  private final ArrayDeque<RedisCall> inFlight = new ArrayDeque<>();
  private final Runnable flushTask = this::flush;
  private NetSocket socket;
  private State state = State.DOWN;
  private Future<Void> opening;
  /** Those waiting in {@link #opened()} for the connection to be ready. */
  private Promise<Void> readyWaiters;
  private Throwable lastFailure;
  private boolean flushScheduled;
  private long backoffMs = FIRST_BACKOFF_MS;
  private long timerId = -1;
  private long timerDeadlineNanos = Long.MAX_VALUE;
  /** The oldest command in flight that a timer found past the Redis timeout, to be looked at again; or null. */
  private RedisCall suspect;
  /** When {@link #suspect} was found. */
  private long suspectSeenNanos;
  /** Stall confirmed: the commands in flight were answered as timeouts; cleared by the next reply. */
  private boolean stalled;

  /**
   * @param redisTimeoutMs the oldest written command unanswered this long, while the loop ran: Redis does not answer
   * @param stallMs        stalled, and the oldest command unanswered this long: the connection is taken for dead and reopened
   */
  PipelinedConnection(Vertx vertx, Context context, NetClient netClient, RedisAccess node, List<LuaScript> scripts,
                      long handshakeTimeoutMs, long redisTimeoutMs, long stallMs, Listener listener) {
    this.vertx = vertx;
    this.eventLoop = VertxInternals.eventLoop(context);
    this.netClient = netClient;
    this.node = node;
    this.scripts = List.copyOf(scripts);
    this.handshakeTimeoutMs = handshakeTimeoutMs;
    this.redisTimeoutNanos = redisTimeoutMs * 1_000_000L;
    this.stallNanos = stallMs * 1_000_000L;
    this.listener = listener;
  }

  RedisAccess node() {
    return node;
  }

  boolean isReady() {
    return state == State.READY;
  }

  /** Ready, and not found silent: a new command here is not queued behind commands Redis does not answer. */
  boolean isAnswering() {
    return state == State.READY && !stalled;
  }

  /** Commands queued or in flight: the load on this connection. */
  int outstanding() {
    return unsent.size() + inFlight.size();
  }

  /**
   * Opens the connection and completes once it is ready, however many tries that takes (each failed
   * try is retried after the usual backoff); the caller bounds the wait.
   */
  Future<Void> opened() {
    if (state == State.READY) {
      return Future.succeededFuture();
    }
    if (state == State.CLOSED) {
      return Future.failedFuture("connection to redis " + node.address() + " closed");
    }
    if (readyWaiters == null) {
      readyWaiters = Promise.promise();
    }
    Future<Void> ready = readyWaiters.future();
    open();
    return ready;
  }

  /** The last reason a try to open failed: what a start that gives up reports. */
  Throwable lastFailure() {
    return lastFailure;
  }

  /** Opens the connection; completes once it is ready, or fails with why it could not be (it keeps trying). */
  Future<Void> open() {
    if (state == State.READY || state == State.CLOSED) {
      return Future.succeededFuture();
    }
    if (opening == null) {
      state = State.CONNECTING;
      opening = netClient.connect(SocketAddress.inetSocketAddress(node.port(), node.host()))
          .compose(this::handshake)
          .onSuccess(ready -> {
            opening = null;
            state = State.READY;
            backoffMs = FIRST_BACKOFF_MS;
            listener.onReady(this);
            if (readyWaiters != null) {
              Promise<Void> waiters = readyWaiters;
              readyWaiters = null;
              waiters.complete();
            }
            scheduleFlush();
          })
          .onFailure(this::broken);
    }
    return opening;
  }

  private Future<Void> handshake(NetSocket connected) {
    if (state == State.CLOSED) {
      // Closed for good while it was connecting: this socket must not bring it back.
      connected.close();
      return Future.failedFuture("connection to redis " + node.address() + " closed by sluice");
    }
    socket = connected;
    // A new socket's first byte starts a reply: nothing of an earlier socket may be taken for its beginning.
    parser.release();
    state = State.HANDSHAKE;
    VertxInternals.onMessages(socket, this::onMessage);
    socket.closeHandler(closed -> broken(new java.io.IOException("connection to redis " + node.address() + " closed")));
    socket.exceptionHandler(this::broken);
    List<Future<Object>> replies = new ArrayList<>();
    if (!node.password().isEmpty()) {
      replies.add(handshakeCommand(node.user().isEmpty()
          ? new Object[] {"AUTH", node.password()}
          : new Object[] {"AUTH", node.user(), node.password()}));
    }
    if (node.database() != 0) {
      replies.add(handshakeCommand("SELECT", (long) node.database()));
    }
    replies.add(handshakeCommand("CLIENT", "SETNAME", "sluice-check"));
    for (LuaScript script : scripts) {
      replies.add(handshakeCommand(script.loadCommand()));
    }
    writeNow();
    return Future.all(replies).mapEmpty();
  }

  private Future<Object> handshakeCommand(Object... parts) {
    CommandCall call = new CommandCall(parts);
    call.deadlineNanos = System.nanoTime() + handshakeTimeoutMs * 1_000_000L;
    enqueue(call);
    return call.reply();
  }

  /**
   * Sends a command; only while {@link #isReady()}. It leaves with the others of this event-loop
   * turn, or, when Redis has none of ours to run and {@link #EARLY_WRITE} checks are waiting, at once with
   * those waiting ({@code mayLeaveEarly}: false keeps it with the commands that follow it this turn).
   */
  void send(RedisCall call, boolean mayLeaveEarly) {
    enqueue(call);
    if (mayLeaveEarly && inFlight.isEmpty() && unsentChecks >= EARLY_WRITE && state == State.READY) {
      writeNow();
    } else {
      scheduleFlush();
    }
  }

  private void enqueue(RedisCall call) {
    unsent.add(call);
    unsentChecks += call.checks();
    if (call.unsentLimitNanos() < timerDeadlineNanos) {
      armTimer(call.unsentLimitNanos());
    }
  }

  private void scheduleFlush() {
    if (!flushScheduled) {
      flushScheduled = true;
      // Runs after the I/O of this event-loop turn: every check that arrived in it leaves in one write.
      eventLoop.execute(flushTask);
    }
  }

  private void flush() {
    flushScheduled = false;
    if (state == State.READY) {
      writeNow();
    }
  }

  private void writeNow() {
    if (unsent.isEmpty()) {
      return;
    }
    if (socket.writeQueueFull()) {
      // Redis reads slower than we write: keep the commands here, where a deadline can still drop them unsent.
      socket.drainHandler(drained -> scheduleFlush());
      return;
    }
    ByteBuf out = VertxInternals.allocator(socket).buffer(unsent.size() * 192);
    long now = System.nanoTime();
    if (inFlight.isEmpty()) {
      // The Redis timeout of what is written now runs from now.
      long dueBy = now + redisTimeoutNanos;
      if (dueBy < timerDeadlineNanos) {
        armTimer(dueBy);
      }
    }
    listener.onWrite(unsent.size(), unsentChecks);
    RedisCall call;
    unsentChecks = 0;
    while ((call = unsent.poll()) != null) {
      call.encode(out);
      call.sent = true;
      call.writtenNanos = now;
      inFlight.add(call);
    }
    VertxInternals.writeMessage(socket, out).onFailure(this::broken);
  }

  private void onMessage(Object message) {
    if (!(message instanceof ByteBuf data)) {
      return;
    }
    NetSocket readFrom = socket;
    reading = true;
    try {
      parser.feed(data, this::onReply);
    } catch (RespParser.ProtocolException e) {
      broken(e);
    } finally {
      reading = false;
      data.release();
      if (reconnectAfterRead) {
        reconnectAfterRead = false;
        reconnect();
      }
      if (socket != readFrom) {
        // A reply of this read had the connection dropped (READONLY reopens it): whatever the parser
        // kept of this socket's bytes would be read as the start of the next socket's replies.
        parser.release();
      }
    }
  }

  private void onReply(Object reply) {
    if (state == State.DOWN || state == State.CLOSED) {
      // The rest of a read whose connection was dropped by an earlier reply of it: its commands were answered already.
      return;
    }
    RedisCall call = inFlight.poll();
    if (call == null) {
      throw new RespParser.ProtocolException("a reply with no command waiting for it");
    }
    // Redis answers again: the next oldest command's wait is judged afresh, and soon, since it may be overdue already.
    if (stalled) {
      stalled = false;
      long soon = System.nanoTime() + STALL_CONFIRM_NANOS;
      if (soon < timerDeadlineNanos) {
        armTimer(soon);
      }
    }
    suspect = null;
    try {
      call.onReply(reply);
    } catch (RuntimeException e) {
      callerFailed(e);
    }
  }

  /**
   * A command's caller threw on being given its outcome. Thrown on, it would unwind through the
   * loop that hands out outcomes: the replies read with this one would be dropped and every later
   * reply given to the wrong command, or the other commands of a deadline or of a broken connection
   * never answered. So it stops here, loudly.
   */
  private static void callerFailed(RuntimeException e) {
    log.error("the caller of a Redis command failed on its outcome; the connection carries on", e);
  }

  private void armTimer(long deadlineNanos) {
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
    }
    timerDeadlineNanos = deadlineNanos;
    long delayMs = Math.max(1, (deadlineNanos - System.nanoTime() + 999_999) / 1_000_000);
    timerId = vertx.setTimer(delayMs, fired -> {
      timerId = -1;
      timerDeadlineNanos = Long.MAX_VALUE;
      expireDue();
    });
  }

  /**
   * Drops commands that waited unwritten past their limit, answers those whose caller's deadline
   * passed, and judges the connection: silent past the Redis timeout (confirmed by a second look),
   * or past {@code stallMs} (dead: reopened).
   */
  private void expireDue() {
    long now = System.nanoTime();
    long next = Long.MAX_VALUE;
    List<RedisCall> shed = new ArrayList<>();
    for (Iterator<RedisCall> it = unsent.iterator(); it.hasNext(); ) {
      RedisCall call = it.next();
      if (call.unsentLimitNanos() - now <= 0) {
        it.remove();
        unsentChecks -= call.checks();
        shed.add(call);
      } else {
        next = Math.min(next, call.unsentLimitNanos());
      }
    }
    List<RedisCall> expired = new ArrayList<>();
    for (RedisCall call : inFlight) {
      if (!call.late && call.deadlineNanos - now <= 0) {
        expired.add(call);
      } else if (!call.late) {
        next = Math.min(next, call.deadlineNanos);
      }
    }
    // Answered after the walks: an answer may break this connection (a handshake that timed out), emptying the queues.
    // Unwritten because the connection is not up yet is the connection's matter, not Sluice's load:
    // answered as a lost connection (which marks it answered itself).
    boolean up = state == State.READY;
    java.io.IOException notUp = up ? null : new java.io.IOException("the connection to redis " + node.address() + " was not up in time");
    for (RedisCall call : shed) {
      if (up) {
        answer(call, RedisCall::onShed);
      } else {
        try {
          call.onConnectionLost(notUp);
        } catch (RuntimeException e) {
          callerFailed(e);
        }
      }
    }
    for (RedisCall call : expired) {
      answer(call, RedisCall::onDeadline);
    }
    if (state != State.READY && state != State.HANDSHAKE && state != State.CONNECTING) {
      return;
    }
    RedisCall oldest = inFlight.peek();
    if (oldest == null) {
      suspect = null;
    } else {
      long waitedNanos = now - oldest.writtenNanos;
      if (stalled && waitedNanos > stallNanos) {
        broken(new java.io.IOException("redis " + node.address() + " answered nothing for " + stallNanos / 1_000_000 + " ms"));
        return;
      }
      if (!stalled && waitedNanos >= redisTimeoutNanos) {
        if (suspect != oldest) {
          // This timer may have run late, behind a busy loop, with the reply unread: look again after the next poll.
          suspect = oldest;
          suspectSeenNanos = now;
          next = Math.min(next, now + STALL_CONFIRM_NANOS);
        } else if (now - suspectSeenNanos >= STALL_CONFIRM_NANOS) {
          stall();
        } else {
          next = Math.min(next, suspectSeenNanos + STALL_CONFIRM_NANOS);
        }
      } else if (!stalled) {
        next = Math.min(next, oldest.writtenNanos + redisTimeoutNanos);
      }
      // Late replies are awaited only so long: come back to see whether the connection died.
      next = Math.min(next, oldest.writtenNanos + stallNanos + 1_000_000);
    }
    if (next != Long.MAX_VALUE && next < timerDeadlineNanos) {
      armTimer(next);
    }
  }

  /**
   * Redis has not answered a written command for the Redis timeout while this loop was free to
   * read: every command here is answered as a timeout now (a sequential caller pays one timeout,
   * not one per command) and the listener opens the breaker. Written ones keep their place for
   * their late replies; unwritten ones are dropped, never to be written behind a silent Redis.
   */
  private void stall() {
    stalled = true;
    suspect = null;
    List<RedisCall> answered = new ArrayList<>(inFlight.size() + unsent.size());
    for (RedisCall call : inFlight) {
      if (!call.late) {
        answered.add(call);
      }
    }
    answered.addAll(unsent);
    unsent.clear();
    unsentChecks = 0;
    for (RedisCall call : answered) {
      answer(call, RedisCall::onStalled);
    }
    listener.onStalled(this);
  }

  private static void answer(RedisCall call, java.util.function.Consumer<RedisCall> how) {
    call.late = true;
    try {
      how.accept(call);
    } catch (RuntimeException e) {
      callerFailed(e);
    }
  }

  private void broken(Throwable cause) {
    if (state == State.DOWN || state == State.CLOSED) {
      return;
    }
    state = State.DOWN;
    opening = null;
    lastFailure = cause;
    if (socket != null) {
      VertxInternals.onMessages(socket, null);
      socket.closeHandler(null).exceptionHandler(null);
      socket.close();
      socket = null;
    }
    if (!reading) {
      // Mid-read, the parser is still looping over its buffer: onMessage releases it after the read.
      parser.release();
    }
    stalled = false;
    suspect = null;
    failAll(cause);
    listener.onDown(this, cause);
    reconnectLater();
  }

  private void failAll(Throwable cause) {
    List<RedisCall> failed = new ArrayList<>(unsent.size() + inFlight.size());
    failed.addAll(inFlight);
    failed.addAll(unsent);
    inFlight.clear();
    unsent.clear();
    unsentChecks = 0;
    if (timerId >= 0) {
      vertx.cancelTimer(timerId);
      timerId = -1;
      timerDeadlineNanos = Long.MAX_VALUE;
    }
    for (RedisCall call : failed) {
      try {
        call.onConnectionLost(cause);
      } catch (RuntimeException e) {
        callerFailed(e);
      }
    }
  }

  private void reconnectLater() {
    // Full jitter: connections of every event loop and instance do not come back in lockstep.
    long delay = 1 + ThreadLocalRandom.current().nextLong(backoffMs);
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    vertx.setTimer(delay, timer -> {
      if (state == State.DOWN) {
        open();
      }
    });
  }

  /** Drops the connection and opens it again (the node stopped being the master). */
  void reconnect() {
    if (reading) {
      // Asked by a reply (READONLY) while the replies of its read are handed out: those after it
      // answer their own commands, then the connection goes.
      reconnectAfterRead = true;
      return;
    }
    if (state == State.READY || state == State.HANDSHAKE) {
      broken(new java.io.IOException("reconnecting to redis " + node.address()));
    }
  }

  /** Closes for good: what is waiting fails, and the connection does not open again. */
  Future<Void> close() {
    if (state == State.CLOSED) {
      return Future.succeededFuture();
    }
    NetSocket open = socket;
    state = State.CLOSED;
    if (readyWaiters != null) {
      readyWaiters.tryFail("connection to redis " + node.address() + " closed by sluice");
      readyWaiters = null;
    }
    socket = null;
    if (!reading) {
      parser.release();
    }
    failAll(new java.io.IOException("connection to redis " + node.address() + " closed by sluice"));
    return open == null ? Future.succeededFuture() : open.close();
  }
}
