package io.sluice.limiter;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.support.Traffic;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two instances, one Redis, 200 concurrent callers on one (user, action): the fleet allows exactly
 * what one bucket allows, counted by the callers.
 */
@ExtendWith(RedisExtension.class)
class FleetAccuracyTest {

  private static final int CAPACITY = 20;
  private static final double REFILL_PER_SECOND = 10;
  private static final int CALLERS = 200;
  private static final long RUN_MS = 3000;

  @Test
  void twoInstancesTogetherNeverAllowMoreThanOneBucket(TestRedis redis) throws Exception {
    String limits = "{ \"rules\": { \"default\": { \"capacity\": %d, \"refillPerSecond\": %s } } }"
        .formatted(CAPACITY, REFILL_PER_SECOND);
    Vertx vertx = Vertx.vertx();
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), limits);
         SluiceFixture b = SluiceFixture.start(redis.uri(), limits)) {
      List<SluiceClient> clients = List.of(
          new SluiceClient(vertx, SocketAddress.inetSocketAddress(a.port(), "127.0.0.1")),
          new SluiceClient(vertx, SocketAddress.inetSocketAddress(b.port(), "127.0.0.1")));
      CheckRequest request = CheckRequest.newBuilder().setUserId("user-" + UUID.randomUUID()).setAction("checkout").build();

      List<Traffic.Answer> answers = Traffic.run(vertx, clients, Traffic.Plan.steady(CALLERS, RUN_MS, 0), caller -> request);

      long allowed = Traffic.count(answers, Traffic.Answer::allowed);
      long denied = Traffic.count(answers, answer -> answer.response() != null && !answer.allowed());
      double outerSeconds = Traffic.spanSeconds(answers);
      long firstAnswer = answers.stream().mapToLong(Traffic.Answer::answeredNanos).min().orElseThrow();
      long lastSend = answers.stream().mapToLong(Traffic.Answer::sentNanos).max().orElseThrow();
      double innerSeconds = (lastSend - firstAnswer) / 1e9;
      String observed = "allowed=%d denied=%d outer=%.3fs inner=%.3fs".formatted(allowed, denied, outerSeconds, innerSeconds);
      assertEquals(0, Traffic.count(answers, answer -> answer.error() != null || answer.degraded()), "every call answered by redis");
      assertThat(denied).as("the bucket was really contended").isGreaterThan(10L * allowed);
      assertThat(Traffic.count(answers, answer -> answer.instance() == 0)).isPositive();
      assertThat(Traffic.count(answers, answer -> answer.instance() == 1)).isPositive();
      // Never more than the tokens that existed while calls ran...
      assertThat(allowed).as(observed).isLessThanOrEqualTo(CAPACITY + (long) Math.floor(REFILL_PER_SECOND * outerSeconds));
      // ...and, within one token, every one of them was handed out.
      assertThat(allowed).as(observed).isGreaterThanOrEqualTo(CAPACITY + (long) Math.floor(REFILL_PER_SECOND * innerSeconds) - 1);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
