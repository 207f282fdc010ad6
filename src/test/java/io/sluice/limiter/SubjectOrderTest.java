package io.sluice.limiter;

import io.sluice.redis.AdminDeadline;
import io.sluice.support.Await;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Changes to one user wait until Redis is done with the earlier ones, not merely until they were answered. */
class SubjectOrderTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aChangeWaitsForTheEarlierOneToSettleNotToBeAnswered() throws Exception {
    SubjectOrder order = new SubjectOrder();
    Context context = vertx.getOrCreateContext();
    Promise<String> firstAnswer = Promise.promise();
    Promise<Void> firstSettled = Promise.promise();
    AtomicReference<Future<Void>> secondTurn = new AtomicReference<>();
    AtomicReference<Future<Void>> otherUsersTurn = new AtomicReference<>();
    onContext(context, () -> {
      order.inTurn(context, "mallory", turn -> new AdminDeadline.Change<>(firstAnswer.future(), firstSettled.future()));
      order.inTurn(context, "mallory", turn -> {
        secondTurn.set(turn);
        return new AdminDeadline.Change<>(turn.map("second"), turn);
      });
      order.inTurn(context, "trudy", turn -> {
        otherUsersTurn.set(turn);
        return new AdminDeadline.Change<>(turn.map("other"), turn);
      });
    });
    Await.until("another user's turn", Duration.ofSeconds(5), () -> otherUsersTurn.get().isComplete());

    // The operator got an answer ("may or may not be in place"), but Redis still holds the change.
    onContext(context, () -> firstAnswer.fail("may or may not be in place"));
    onContext(context, () -> { });
    assertFalse(secondTurn.get().isComplete(), "the unban must not overtake a ban Redis has not finished");

    onContext(context, firstSettled::complete);
    Await.until("the second change's turn", Duration.ofSeconds(5), () -> secondTurn.get().isComplete());
    Await.until("nothing left once every change settled", Duration.ofSeconds(5), () -> order.users() == 0);
  }

  @Test
  void aChangeThatFailsToStartStillLetsTheNextOneGo() throws Exception {
    SubjectOrder order = new SubjectOrder();
    Context context = vertx.getOrCreateContext();
    AtomicReference<Future<Void>> next = new AtomicReference<>();
    onContext(context, () -> {
      order.inTurn(context, "mallory", turn -> {
        throw new IllegalStateException("a bug in the change");
      });
      order.inTurn(context, "mallory", turn -> {
        next.set(turn);
        return new AdminDeadline.Change<>(turn.map("next"), turn);
      });
    });
    Await.until("the next change's turn", Duration.ofSeconds(5), () -> next.get().isComplete());
    assertTrue(next.get().succeeded());
    Await.until("nothing left", Duration.ofSeconds(5), () -> order.users() == 0);
    assertEquals(0, order.users());
  }

  private static void onContext(Context context, Runnable work) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(go -> {
      work.run();
      done.complete(null);
    });
    done.get(5, TimeUnit.SECONDS);
  }
}
