package io.sluice.limiter;

import io.sluice.redis.AdminDeadline;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Operators' changes to one user, applied by Redis in the order this instance accepted them,
 * whichever admin path (gRPC on any event loop, HTTP) took them. Each change waits until Redis is
 * done with the one before it ({@link AdminDeadline.Change#settled}), not merely until that one was
 * answered: a ban answered "may or may not be in place" is still in Redis's hands, and an unban sent
 * meanwhile on another connection could be applied before it. A change whose turn does not come
 * within its deadline is answered as not made. One entry per user with a change in progress.
 */
public final class SubjectOrder {

  private final ConcurrentHashMap<String, Future<Void>> lastSettled = new ConcurrentHashMap<>();

  /**
   * @param change given its turn (completed on {@code context} once the user's earlier changes are
   *               settled), the change
   */
  public <T> Future<T> inTurn(Context context, String user, Function<Future<Void>, AdminDeadline.Change<T>> change) {
    Promise<Void> settled = Promise.promise();
    Future<Void> before = lastSettled.put(user, settled.future());
    Promise<Void> turn = Promise.promise();
    if (before == null) {
      turn.complete();
    } else {
      before.onComplete(previous -> context.runOnContext(go -> turn.complete()));
    }
    AdminDeadline.Change<T> made;
    try {
      made = change.apply(turn.future());
    } catch (RuntimeException e) {
      made = new AdminDeadline.Change<>(Future.failedFuture(e), turn.future());
    }
    // Settled only after the one before: a change that gave up waiting must not let the next overtake it.
    Future<Void> after = Future.join(made.settled(), turn.future()).<Void>mapEmpty().otherwiseEmpty();
    after.onComplete(done -> {
      settled.complete();
      lastSettled.remove(user, settled.future());
    });
    return made.answer();
  }

  /** Users with a change in progress or waiting: none once every change settled. */
  public int users() {
    return lastSettled.size();
  }
}
