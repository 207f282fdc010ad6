package io.sluice.limiter;

import io.sluice.config.Settings;
import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.support.Traffic;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The worst second of a new instance: just started, nothing served yet, and 200 callers at once on
 * one user of a 5-token rule (the shipped login rule), with the default Redis timeout. Every answer
 * must come from Redis, and the limit must hold.
 */
@ExtendWith(RedisExtension.class)
class ColdBurstTest {

  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 100, "refillPerSecond": 10 },
                   "login": { "capacity": 5, "refillPerSecond": 0.2 } } }
      """;
  private static final int CALLERS = 200;
  private static final int CHECKS_EACH = 3;

  private Vertx vertx;

  @BeforeEach
  void clientVertx() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void closeClients() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aColdInstanceAnswersItsFirstBurstFromRedisWithinTheLimit(TestRedis redis) throws Exception {
    try (SluiceFixture cold = startCold(redis)) {
      assertBurstHoldsTheLimit(List.of(client(cold)));
    }
  }

  @Test
  void twoColdInstancesTogetherAnswerTheirFirstBurstFromRedisWithinTheLimit(TestRedis redis) throws Exception {
    try (SluiceFixture a = startCold(redis); SluiceFixture b = startCold(redis)) {
      assertBurstHoldsTheLimit(List.of(client(a), client(b)));
    }
  }

  private void assertBurstHoldsTheLimit(List<SluiceClient> instances) {
    CheckRequest request = CheckRequest.newBuilder().setUserId("cold-" + UUID.randomUUID()).setAction("login").build();

    List<Traffic.Answer> answers = Traffic.run(vertx, instances, Traffic.Plan.burst(CALLERS, CHECKS_EACH), caller -> request);

    long allowed = Traffic.count(answers, Traffic.Answer::allowed);
    double seconds = Traffic.spanSeconds(answers);
    String observed = "allowed=%d degraded=%d errors=%d in %.3f s".formatted(allowed,
        Traffic.count(answers, Traffic.Answer::degraded), Traffic.count(answers, a -> a.error() != null), seconds);
    assertThat(answers).as(observed).hasSize(CALLERS * CHECKS_EACH);
    assertThat(Traffic.count(answers, Traffic.Answer::degraded)).as("degraded answers: " + observed).isZero();
    assertThat(Traffic.count(answers, a -> a.error() != null)).as("errors: " + observed).isZero();
    // Degraded answers are counted as what they are: none were allowed here, since none happened.
    assertThat(allowed).as(observed).isLessThanOrEqualTo(5 + (long) Math.floor(0.2 * seconds) + 1);
    assertThat(allowed).as("the tokens there were handed out: " + observed).isGreaterThanOrEqualTo(5);
  }

  /** As users start it: the default Redis timeout, not the tests' generous one. */
  private static SluiceFixture startCold(TestRedis redis) {
    return SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("redisTimeoutMs", Settings.DEFAULT_REDIS_TIMEOUT_MS));
  }

  private SluiceClient client(SluiceFixture instance) {
    return new SluiceClient(vertx, SocketAddress.inetSocketAddress(instance.port(), "127.0.0.1"));
  }
}
