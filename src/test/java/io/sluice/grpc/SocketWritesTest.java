package io.sluice.grpc;

import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.Await;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the check path costs in socket writes, counted by the metrics that show it in production:
 * answers that Redis completed together leave for the caller together, however many they are.
 * (When commands leave for Redis: {@code EarlyWritesTest}.)
 */
@ExtendWith(RedisExtension.class)
class SocketWritesTest {

  private static final int CHECKS = 64;

  @Test
  void answersThatRedisCompletedTogetherLeaveInOneSocketWrite() throws Exception {
    String limits = "{ \"rules\": { \"default\": { \"capacity\": 1000, \"refillPerSecond\": 1 } } }";
    // Redis is stopped while the checks arrive, so that all of them wait on it; their deadline is far.
    // The test client sends them on one connection, so that connection may hold all of them.
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), limits,
             new JsonObject().put("redisTimeoutMs", 10_000).put("maxStreamsPerConnection", CHECKS))) {
      sluice.check("opens-the-connection", "api");
      double checksBefore = sluice.counter(Metrics.REDIS_CHECKS_WRITTEN);
      List<Future<CheckResponse>> answers;
      double writesBefore;
      redis.pause();
      try {
        answers = IntStream.range(0, CHECKS).mapToObj(i -> sluice.client().check("user-" + i, "api", 1)).toList();
        Await.until("every check written to Redis", Duration.ofSeconds(10),
            () -> sluice.counter(Metrics.REDIS_CHECKS_WRITTEN) - checksBefore >= CHECKS);
        writesBefore = sluice.counter(Metrics.GRPC_WRITES);
      } finally {
        redis.resume();
      }
      for (Future<CheckResponse> answer : answers) {
        CheckResponse response = answer.await(10, TimeUnit.SECONDS);
        assertThat(response.getDecision()).isEqualTo(Decision.ALLOW);
        assertThat(response.getDegraded()).isFalse();
      }
      // One write when Redis's replies came in one read; a few if they came split. One per answer before.
      assertThat(sluice.counter(Metrics.GRPC_WRITES) - writesBefore)
          .as("socket writes that carried %d answers", CHECKS).isBetween(1.0, 4.0);
    }
  }
}
