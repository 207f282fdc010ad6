package io.sluice.redis;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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

  private AdminDeadline() {
  }

  /**
   * A read an operator waits for (a listing, the keys an unban will delete), answered within
   * {@code timeoutMs} or failed with {@code what} not done: a read changes nothing, so its outcome is
   * never in doubt.
   */
  public static <T> Future<T> read(Future<T> read, long timeoutMs, String notDone) {
    return read.timeout(timeoutMs, TimeUnit.MILLISECONDS).recover(failure -> Future.failedFuture(failure instanceof TimeoutException
        ? new Unfinished("Redis did not answer within " + timeoutMs + " ms (adminTimeoutMs): " + notDone, false)
        : failure));
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
    Promise<T> outcome = Promise.promise();
    boolean[] sent = new boolean[1];
    long leftMs = Math.max(1, timeoutMs - (System.nanoTime() - startedNanos) / 1_000_000);
    long timer = vertx.setTimer(leftMs, late -> {
      String message = sent[0]
          ? "Redis did not answer within " + timeoutMs + " ms (adminTimeoutMs); " + effect + " may or may not be in place: " + checkIt
          : "Redis could not be reached within " + timeoutMs + " ms (adminTimeoutMs): " + effect + " was not made";
      outcome.tryFail(new Unfinished(message, sent[0]));
    });
    redis.connect().onComplete(connected -> {
      if (connected.failed()) {
        vertx.cancelTimer(timer);
        outcome.tryFail(new Unfinished("Redis could not be reached (" + connected.cause().getMessage() + "): " + effect
            + " was not made", false));
        return;
      }
      if (outcome.future().isComplete()) {
        // Too late: the operator was told it was not made, so it never is.
        connected.result().close();
        return;
      }
      sent[0] = true;
      Future<T> done;
      try {
        done = change.apply(connected.result());
      } catch (RuntimeException e) {
        done = Future.failedFuture(e);
      }
      done.onComplete(result -> {
        vertx.cancelTimer(timer);
        connected.result().close();
        if (result.succeeded()) {
          outcome.tryComplete(result.result());
        } else {
          // Sent, then failed (a connection lost, a failover): Redis may have run it before.
          outcome.tryFail(new Unfinished("Redis failed " + effect + " (" + result.cause().getMessage() + "); it may or may not be in place: "
              + checkIt, true));
        }
      });
    });
    return outcome.future();
  }
}
