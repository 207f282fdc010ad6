package io.sluice.scale;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.support.Await;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.support.Traffic;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A failover while 20 callers check spread users on one instance: what was answered, and when the
 * master failed and when its successor was promoted. Shared by the Sentinel and Cluster tests.
 */
record FailoverUnderLoad(List<Traffic.Answer> answers, long failedNanos, long promotedNanos) {

  static final String LIMITS = "{ \"rules\": { \"default\": { \"capacity\": 1000000, \"refillPerSecond\": 1000 } } }";
  private static final long TWO_SECONDS = 2_000_000_000L;

  /** Runs the load for {@code durationMs}, fails the master once Redis decides checks, and waits for {@code promoted}. */
  static FailoverUnderLoad run(TestRedis redis, SluiceFixture sluice, long durationMs, Runnable failOver, BooleanSupplier promoted)
      throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      SluiceClient client = new SluiceClient(vertx, SocketAddress.inetSocketAddress(sluice.port(), "127.0.0.1"));
      CompletableFuture<List<Traffic.Answer>> traffic = CompletableFuture.supplyAsync(() -> Traffic.run(vertx, List.of(client),
          Traffic.Plan.steady(20, durationMs, 2).withTimeoutMs(2000),
          caller -> CheckRequest.newBuilder().setUserId("user-" + caller + "-" + UUID.randomUUID()).setAction("api").build()));
      Await.until("checks decided by redis", Duration.ofSeconds(10), () -> redis.calls("evalsha") > 100);
      long failedNanos = System.nanoTime();
      failOver.run();
      Await.until("the successor promoted", Duration.ofSeconds(30), promoted);
      long promotedNanos = System.nanoTime();
      return new FailoverUnderLoad(traffic.get(60, TimeUnit.SECONDS), failedNanos, promotedNanos);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** Every check answered, and Redis (not the failure mode) deciding again from 2 s after the promotion on. */
  void assertEveryCheckAnsweredAndDecidedByRedisWithinTwoSecondsOfThePromotion() {
    assertEquals(0, Traffic.count(answers, answer -> answer.error() != null), "every check answered");
    long late = Traffic.count(answers, answer -> answer.sentNanos() > promotedNanos + TWO_SECONDS);
    assertThat(late).as("checks sent more than 2 s after the promotion").isGreaterThan(100);
    assertEquals(0, Traffic.count(answers, answer -> answer.sentNanos() > promotedNanos + TWO_SECONDS && answer.degraded()),
        "decided by the new master, not by the failure mode");
  }

  /** What the failover cost, printed for docs/scaling.md. */
  void print(String what) {
    System.out.printf("%s: promoted after %d ms; %d checks, %d of them until the promotion, %d degraded by reason %s%n", what,
        (promotedNanos - failedNanos) / 1_000_000, answers.size(),
        Traffic.count(answers, answer -> answer.sentNanos() > failedNanos && answer.sentNanos() < promotedNanos),
        Traffic.count(answers, Traffic.Answer::degraded),
        answers.stream().filter(Traffic.Answer::degraded)
            .collect(Collectors.groupingBy(answer -> answer.response().getDegradedReason(), Collectors.counting())));
  }
}
