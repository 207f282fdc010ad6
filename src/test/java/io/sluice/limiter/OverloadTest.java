package io.sluice.limiter;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.support.Http;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.support.Traffic;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.common.GrpcStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * More callers than the instance takes, for ten seconds: what it cannot take is refused with an
 * error the caller sees, and what it answers stays within the limit. Being busy never turns into
 * an ALLOW.
 */
@ExtendWith(RedisExtension.class)
class OverloadTest {

  private static final int CAPACITY = 50;
  private static final double REFILL_PER_SECOND = 20;
  /** Far below the 400 callers, so that some are shed however slowly this JVM runs them (leak detection makes it slow). */
  private static final int MAX_IN_FLIGHT = 20;

  @Test
  void anOverloadedInstanceShedsExplicitlyAndNeverAdmitsMoreThanTheLimit(TestRedis redis) throws Exception {
    String limits = "{ \"rules\": { \"default\": { \"capacity\": %d, \"refillPerSecond\": %s } } }".formatted(CAPACITY, REFILL_PER_SECOND);
    Vertx vertx = Vertx.vertx();
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), limits, new JsonObject().put("maxChecksInFlight", MAX_IN_FLIGHT))) {
      CheckRequest request = CheckRequest.newBuilder().setUserId("busy-" + UUID.randomUUID()).setAction("api").build();
      // 25 connections: the instance lets a connection hold 16 calls at once (maxStreamsPerConnection),
      // and here 400 are in flight.
      List<SluiceClient> connections = IntStream.range(0, 25)
          .mapToObj(i -> new SluiceClient(vertx, SocketAddress.inetSocketAddress(sluice.port(), "127.0.0.1"))).toList();

      List<Traffic.Answer> answers = Traffic.run(vertx, connections, Traffic.Plan.steady(400, 10_000, 0), caller -> request);

      long allowed = Traffic.count(answers, Traffic.Answer::allowed);
      long shed = Traffic.count(answers, answer -> answer.error() == GrpcStatus.RESOURCE_EXHAUSTED);
      double seconds = Traffic.spanSeconds(answers);
      String observed = "answers=%d allowed=%d shed=%d degraded=%d other errors=%d in %.1f s".formatted(answers.size(), allowed, shed,
          Traffic.count(answers, Traffic.Answer::degraded),
          Traffic.count(answers, answer -> answer.error() != null && answer.error() != GrpcStatus.RESOURCE_EXHAUSTED), seconds);
      assertThat(shed).as("load beyond " + MAX_IN_FLIGHT + " in flight is shed: " + observed).isPositive();
      assertThat(Traffic.count(answers, answer -> answer.error() != null && answer.error() != GrpcStatus.RESOURCE_EXHAUSTED))
          .as("the only error is the explicit shed: " + observed).isZero();
      assertThat(Traffic.count(answers, Traffic.Answer::degraded)).as("redis was fine, so nothing is degraded: " + observed).isZero();
      assertThat(allowed).as(observed).isLessThanOrEqualTo(CAPACITY + (long) Math.floor(REFILL_PER_SECOND * seconds) + 1);
      assertThat(Http.metric(sluice.sluice().metrics().scrape(), "sluice_checks_shed_total", "reason=\"overload\""))
          .as("every shed check is counted").isEqualTo((double) shed);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
