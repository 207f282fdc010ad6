package io.sluice.redis;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * An operator's change (a ban, an unban) with the check path's discipline: a deadline. Its commands
 * go on a connection of its own, taken only if Redis gives one in time, so a change that could not
 * be sent by the deadline is never sent later (Redis coming back does not apply a change the
 * operator was told failed); one that was sent and is unanswered at the deadline is reported as of
 * unknown outcome, in words the operator can act on. What follows a command that was sent (an
 * unban's notice to the instances, after its deletes) still follows it when Redis answers late:
 * it makes the instances agree with what Redis did.
 */
public final class AdminDeadline {

  /** A change that did not finish in time: not made, or made perhaps. */
  public static final class Unfinished extends RuntimeException {
    private final boolean maybeDone;

    Unfinished(String message, boolean maybeDone) {
      super(message, null, false, false);
      this.maybeDone = maybeDone;
    }

    /** Whether the change may have been made (it was sent), as opposed to certainly not. */
    public boolean maybeDone() {
      return maybeDone;
    }
  }

  /** What a change fails with to say it certainly wrote nothing (past its deadline, or a transaction that never committed). */
  public static final class NotWritten extends RuntimeException {
    public NotWritten(String why) {
      super(why, null, false, false);
    }
  }

  /**
   * How long a change sent and unanswered keeps its connection, in deadlines, before it is closed:
   * until then the user's later changes wait for it (SubjectOrder). A Redis that is only slow answers
   * well within it; a connection lost without a reset (a partition) would otherwise hold them for as
   * long as TCP retransmits, some 15 minutes.
   */
  private static final int SETTLE_DEADLINES = 3;

  private AdminDeadline() {
  }

  /**
   * A read an operator waits for (a listing, the keys an unban will delete), answered within
   * {@code timeoutMs} or failed with {@code what} not done: a read changes nothing, so its outcome is
   * never in doubt.
   */
  public static <T> Future<T> read(Future<T> read, long timeoutMs, String notDone) {
    return read(read, timeoutMs, System.nanoTime(), () -> notDone);
  }

  /** The same, with what was not done said as of the deadline (which part was still awaited). */
  public static <T> Future<T> read(Future<T> read, long timeoutMs, java.util.function.Supplier<String> notDone) {
    return read(read, timeoutMs, System.nanoTime(), notDone);
  }

  /** The same, for an operation that began at {@code startedNanos} (it waited for its turn). */
  public static <T> Future<T> read(Future<T> read, long timeoutMs, long startedNanos, String notDone) {
    return read(read, timeoutMs, startedNanos, () -> notDone);
  }

  private static <T> Future<T> read(Future<T> read, long timeoutMs, long startedNanos, java.util.function.Supplier<String> notDone) {
    return read.timeout(leftMs(timeoutMs, startedNanos), TimeUnit.MILLISECONDS).recover(failure -> Future.failedFuture(
        failure instanceof TimeoutException
            ? new Unfinished("Redis did not answer within " + timeoutMs + " ms (adminTimeoutMs): " + notDone.get(), false)
            : failure));
  }

  /** What is left of an operation's deadline: at least a millisecond, so that a late one still times out rather than waits. */
  private static long leftMs(long timeoutMs, long startedNanos) {
    return Math.max(1, timeoutMs - (System.nanoTime() - startedNanos) / 1_000_000);
  }

  /**
   * Runs {@code change} on a connection of its own within {@code timeoutMs}.
   *
   * @param effect  the change, as an operator names it ("the ban of alice")
   * @param checkIt how to see what happened ("check with `sluice bans`")
   */
  public static <T> Future<T> change(Vertx vertx, Redis redis, long timeoutMs, String effect, String checkIt,
      Function<RedisConnection, Future<T>> change) {
    return change(vertx, redis, timeoutMs, System.nanoTime(), effect, checkIt, change);
  }

  /** The same, for an operation that began at {@code startedNanos} (its reads took part of the time). */
  public static <T> Future<T> change(Vertx vertx, Redis redis, long timeoutMs, long startedNanos, String effect, String checkIt,
      Function<RedisConnection, Future<T>> change) {
    return writeInTurn(vertx, redis, timeoutMs, startedNanos, Future.succeededFuture(), effect, checkIt, change).answer();
  }

  /** A failure in words: its message, or its kind when it has none (never "null"). */
  public static String why(Throwable failure) {
    return failure.getMessage() != null ? failure.getMessage() : failure.getClass().getSimpleName();
  }

  /** A failure of an admin operation as the operator is told it: as it is when it says so already, else "not done: why". */
  public static Unfinished notDone(Throwable failure, String notDone) {
    return failure instanceof Unfinished unfinished ? unfinished : new Unfinished(notDone + ": " + why(failure), false);
  }

  /** A change whose turn did not come in time: an earlier change to the same user is still in Redis's hands. */
  public static Unfinished notInTurn(long timeoutMs, String effect) {
    return new Unfinished("Redis has not yet answered an earlier change to the same user, after " + timeoutMs + " ms (adminTimeoutMs): "
        + effect + " was not made, so that it cannot overtake that one", false);
  }

  /** {@link #changeInTurn} for a change whose first command changes something. */
  public static <T> Change<T> writeInTurn(Vertx vertx, Redis redis, long timeoutMs, long startedNanos, Future<?> turn, String effect,
      String checkIt, Function<RedisConnection, Future<T>> change) {
    return changeInTurn(vertx, redis, timeoutMs, startedNanos, turn, effect, checkIt,
        (connection, writing) -> writing.getAsBoolean() ? change.apply(connection) : Future.failedFuture(new NotWritten("past the deadline")));
  }

  /**
   * A change as the operator sees it, and as Redis does: {@code answer} within the deadline;
   * {@code settled} once Redis is done with it (answered, or the change was never sent), which can
   * be later. What must follow the change in Redis waits for {@code settled}.
   */
  public record Change<T>(Future<T> answer, Future<Void> settled) {
  }

  /**
   * A change that may have to wait for its {@code turn} (an earlier change to the same user, see
   * SubjectOrder) and reads before it writes (a WATCH, a GET, then MULTI/EXEC): {@code change} asks
   * {@code writing} right before its first command that changes anything, and stops if it answers
   * false, the deadline having passed. Until then the change is certainly not made, and reported so.
   * The deadline runs from {@code startedNanos}, the wait for the turn included.
   */
  public static <T> Change<T> changeInTurn(Vertx vertx, Redis redis, long timeoutMs, long startedNanos, Future<?> turn, String effect,
      String checkIt, BiFunction<RedisConnection, BooleanSupplier, Future<T>> change) {
    Promise<T> outcome = Promise.promise();
    Promise<Void> settled = Promise.promise();
    boolean[] begun = new boolean[1];
    boolean[] connected = new boolean[1];
    boolean[] sent = new boolean[1];
    RedisConnection[] open = new RedisConnection[1];
    // A pooled connection given back twice breaks the pool's count: the give-up and the answer may both come.
    boolean[] closed = new boolean[1];
    long timer = vertx.setTimer(leftMs(timeoutMs, startedNanos), late -> {
      String message = sent[0]
          ? "Redis did not answer within " + timeoutMs + " ms (adminTimeoutMs); " + effect + " may or may not be in place: " + checkIt
          : connected[0] ? "Redis did not answer within " + timeoutMs + " ms (adminTimeoutMs): " + effect + " was not made"
          : begun[0] ? "Redis could not be reached within " + timeoutMs + " ms (adminTimeoutMs): " + effect + " was not made"
          : null;
      outcome.tryFail(message == null ? notInTurn(timeoutMs, effect) : new Unfinished(message, sent[0]));
      if (sent[0]) {
        vertx.setTimer(SETTLE_DEADLINES * timeoutMs, giveUp -> {
          if (!settled.future().isComplete()) {
            // Closing does not take back what Redis received; it ends the wait of what follows.
            closeOnce(open, closed);
          }
        });
      }
    });
    turn.onComplete(ready -> {
      if (outcome.future().isComplete()) {
        // Too late: the operator was told it was not made, so it never is.
        settled.complete();
        return;
      }
      begun[0] = true;
      redis.connect().onComplete(connecting -> {
        if (connecting.failed()) {
          vertx.cancelTimer(timer);
          settled.complete();
          outcome.tryFail(new Unfinished("Redis could not be reached (" + why(connecting.cause()) + "): " + effect
              + " was not made", false));
          return;
        }
        RedisConnection connection = connecting.result();
        if (outcome.future().isComplete()) {
          connection.close();
          settled.complete();
          return;
        }
        connected[0] = true;
        open[0] = connection;
        BooleanSupplier writing = () -> {
          if (outcome.future().isComplete()) {
            return false;
          }
          sent[0] = true;
          return true;
        };
        Future<T> done;
        try {
          done = change.apply(connection, writing);
        } catch (RuntimeException e) {
          done = Future.failedFuture(e);
        }
        done.onComplete(result -> {
          vertx.cancelTimer(timer);
          closeOnce(open, closed);
          settled.complete();
          if (result.succeeded()) {
            outcome.tryComplete(result.result());
          } else if (sent[0] && !(result.cause() instanceof NotWritten)) {
            // Sent, then failed (a connection lost, a failover): Redis may have run it before.
            outcome.tryFail(new Unfinished("Redis failed " + effect + " (" + why(result.cause()) + "); it may or may not be in place: "
                + checkIt, true));
          } else if (result.cause() instanceof NotWritten notWritten) {
            outcome.tryFail(new Unfinished(effect + " was not made: " + notWritten.getMessage(), false));
          } else {
            outcome.tryFail(new Unfinished("Redis failed before " + effect + " was sent (" + why(result.cause()) + "): it was not made",
                false));
          }
        });
      });
    });
    return new Change<>(outcome.future(), settled.future());
  }

  private static void closeOnce(RedisConnection[] open, boolean[] closed) {
    if (!closed[0]) {
      closed[0] = true;
      open[0].close();
    }
  }
}
