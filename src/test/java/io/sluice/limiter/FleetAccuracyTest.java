package io.sluice.limiter;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two instances, one Redis, 200 concurrent callers on one (user, action): the fleet allows exactly
 * what one bucket allows, counted by the callers.
 */
@ExtendWith({VertxExtension.class, RedisExtension.class})
class FleetAccuracyTest {

  private static final int CAPACITY = 20;
  private static final double REFILL_PER_SECOND = 10;
  private static final int CALLERS = 200;
  private static final long RUN_MS = 3000;

  @Test
  void twoInstancesTogetherNeverAllowMoreThanOneBucket(Vertx vertx, VertxTestContext test, TestRedis redis) throws Throwable {
    String limits = "{ \"rules\": { \"default\": { \"capacity\": %d, \"refillPerSecond\": %s } } }"
        .formatted(CAPACITY, REFILL_PER_SECOND);
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), limits);
         SluiceFixture b = SluiceFixture.start(redis.uri(), limits)) {
      List<SluiceClient> clients = List.of(
          new SluiceClient(vertx, SocketAddress.inetSocketAddress(a.port(), "127.0.0.1")),
          new SluiceClient(vertx, SocketAddress.inetSocketAddress(b.port(), "127.0.0.1")));
      Hammer hammer = new Hammer(vertx, "user-" + UUID.randomUUID(), RUN_MS);

      List<Future<Void>> callers = new ArrayList<>();
      for (int i = 0; i < CALLERS; i++) {
        callers.add(hammer.caller(clients.get(i % 2), i % 2));
      }
      Future.all(callers).onComplete(test.succeedingThenComplete());
      assertThat(test.awaitCompletion(RUN_MS + 30_000, TimeUnit.MILLISECONDS)).isTrue();
      if (test.failed()) {
        throw test.causeOfFailure();
      }

      double outerSeconds = (hammer.lastResponseNanos.get() - hammer.startNanos) / 1e9;
      double innerSeconds = (hammer.lastSendNanos.get() - hammer.firstResponseNanos.get()) / 1e9;
      long allowed = hammer.allowed.get();
      String observed = "allowed=%d denied=%d outer=%.3fs inner=%.3fs".formatted(allowed, hammer.denied.get(), outerSeconds, innerSeconds);
      System.out.println("fleet accuracy: " + observed);
      assertEquals(0, hammer.errors.get(), "every call answered");
      assertThat(hammer.denied.get()).as("the bucket was really contended").isGreaterThan(10L * allowed);
      assertThat(hammer.perInstance[0].get()).isPositive();
      assertThat(hammer.perInstance[1].get()).isPositive();
      // Never more than the tokens that existed while calls ran...
      assertThat(allowed).as(observed).isLessThanOrEqualTo(CAPACITY + (long) Math.floor(REFILL_PER_SECOND * outerSeconds));
      // ...and, within one token, every one of them was handed out.
      assertThat(allowed).as(observed).isGreaterThanOrEqualTo(CAPACITY + (long) Math.floor(REFILL_PER_SECOND * innerSeconds) - 1);
      assertThat(Math.abs(allowed - (CAPACITY + (long) Math.floor(REFILL_PER_SECOND * innerSeconds)))).as(observed).isLessThanOrEqualTo(1);

      for (SluiceClient client : clients) {
        client.close();
      }
    }
  }

  /** Callers that check one (user, action) back to back until the deadline, counting what they get. */
  private static final class Hammer {
    final Vertx vertx;
    final String user;
    final long startNanos = System.nanoTime();
    final long deadlineNanos;
    final AtomicLong allowed = new AtomicLong();
    final AtomicLong denied = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicLong firstResponseNanos = new AtomicLong(Long.MAX_VALUE);
    final AtomicLong lastSendNanos = new AtomicLong();
    final AtomicLong lastResponseNanos = new AtomicLong();
    final AtomicLong[] perInstance = {new AtomicLong(), new AtomicLong()};

    Hammer(Vertx vertx, String user, long runMs) {
      this.vertx = vertx;
      this.user = user;
      this.deadlineNanos = startNanos + TimeUnit.MILLISECONDS.toNanos(runMs);
    }

    Future<Void> caller(SluiceClient client, int instance) {
      Promise<Void> done = Promise.promise();
      next(client, instance, done);
      return done.future();
    }

    private void next(SluiceClient client, int instance, Promise<Void> done) {
      long now = System.nanoTime();
      if (now >= deadlineNanos) {
        done.complete();
        return;
      }
      lastSendNanos.accumulateAndGet(now, Math::max);
      client.check(user, "checkout", 1).onComplete(reply -> {
        long answered = System.nanoTime();
        firstResponseNanos.accumulateAndGet(answered, Math::min);
        lastResponseNanos.accumulateAndGet(answered, Math::max);
        if (reply.failed() || reply.result().getDegraded()) {
          errors.incrementAndGet();
        } else if (reply.result().getDecision() == Decision.ALLOW) {
          allowed.incrementAndGet();
          perInstance[instance].incrementAndGet();
        } else {
          denied.incrementAndGet();
          perInstance[instance].incrementAndGet();
        }
        next(client, instance, done);
      });
    }
  }
}
