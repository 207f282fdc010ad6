package io.sluice.throttle;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.grpc.v1.ThrottleSubject;
import io.sluice.limiter.ThrottleFactors;
import io.sluice.redis.RedisKeys;
import io.sluice.support.Await;
import io.sluice.support.Ports;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.Collections;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Adaptive throttling end to end: a fake backend turns slow, its probed or reported latency drives
 * the fleet's factor down, and the adaptive rule's limit falls on both instances alike.
 */
@ExtendWith(RedisExtension.class)
class AdaptiveThrottleTest {

  private static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 1000, "refillPerSecond": 1000 },
          "search":  { "capacity": 100, "refillPerSecond": 0.001, "adaptive": true },
          "export":  { "capacity": 100, "refillPerSecond": 0.001 } } }
      """;
  private static final double MIN_FACTOR = 0.1;

  private final Vertx backendVertx = Vertx.vertx();
  private final AtomicLong backendDelayMs = new AtomicLong();
  private HttpServer backend;
  private TestRedis redis;
  private SluiceFixture a;
  private SluiceFixture b;

  @BeforeEach
  void startBackend(TestRedis testRedis) throws Exception {
    redis = testRedis;
    dropThrottleState();
    backend = backendVertx.createHttpServer()
        .requestHandler(request -> {
          long delay = backendDelayMs.get();
          if (delay == 0) {
            request.response().end("ok");
          } else {
            backendVertx.setTimer(delay, timer -> request.response().end("ok"));
          }
        })
        .listen(Ports.free(), "127.0.0.1")
        .await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stopEverything() throws Exception {
    if (a != null) {
      a.close();
    }
    if (b != null) {
      b.close();
    }
    backendVertx.close().await(10, TimeUnit.SECONDS);
    dropThrottleState();
  }

  private void dropThrottleState() {
    Response keys = redis.command(Command.KEYS, RedisKeys.FLEET_TAG.replace("{", "\\{").replace("}", "\\}") + ":throttle*");
    for (Response key : keys) {
      redis.command(Command.DEL, key.toString());
    }
  }

  private void startFleet(boolean probe) {
    JsonObject settings = new JsonObject()
        .put("throttleWindowMs", 100)
        .put("throttleTargetMs", 50)
        .put("throttleMinSamples", 3)
        .put("throttleDecrease", 0.5)
        .put("throttleIncrease", 0.25)
        .put("throttleMinFactor", MIN_FACTOR);
    if (probe) {
      settings.put("throttleProbeUrl", "http://127.0.0.1:" + backend.actualPort() + "/health")
          .put("throttleProbeIntervalMs", 20)
          .put("throttleProbeTimeoutMs", 1000);
    }
    a = SluiceFixture.start(redis.uri(), LIMITS, settings);
    b = SluiceFixture.start(redis.uri(), LIMITS, settings);
  }

  @Test
  void aSlowProbedBackendLowersTheAdaptiveRuleOnBothInstancesAndRecovery() {
    startFleet(true);
    assertEquals(100, a.check(newUser(), "search").getLimit(), "a fast backend is not throttled");

    backendDelayMs.set(200);
    awaitFactorOnBoth("search", factor -> factor <= MIN_FACTOR);
    for (SluiceFixture instance : new SluiceFixture[] {a, b}) {
      assertThat(instance.sluice().throttle().factorFor("search")).isGreaterThanOrEqualTo(MIN_FACTOR);
      assertEquals(10, instance.check(newUser(), "search").getLimit(), "limit = floor(100 x minFactor)");
      assertEquals(100, instance.check(newUser(), "export").getLimit(), "a rule that is not adaptive is untouched");
    }
    // The throttled capacity holds across the fleet: one user's burst split over both instances.
    String user = newUser();
    int allowed = 0;
    for (int i = 0; i < 30; i++) {
      CheckResponse response = (i % 2 == 0 ? a : b).check(user, "search");
      allowed += response.getDecision() == Decision.ALLOW ? 1 : 0;
    }
    assertEquals(10, allowed);

    ThrottleSubject status = a.await(a.client().getThrottle()).getSubjects(0);
    assertEquals(ThrottleFactors.BACKEND, status.getSubject());
    assertThat(status.getReason()).contains("above target 50.0 ms");
    assertThat(status.getP95Ms()).isGreaterThan(50);

    backendDelayMs.set(0);
    awaitFactorOnBoth("search", factor -> factor == 1.0);
    assertEquals(100, a.check(newUser(), "search").getLimit());
    assertEquals(100, b.check(newUser(), "search").getLimit());
  }

  @Test
  void aProbeAloneMovesTheFactorWithTheDefaultWindowAndSampleCount() {
    // Only the target and the probe's URL are set: the window, the samples a window needs and the
    // probe's interval are the defaults. They once gave a probe 2 samples a window where 20 were needed.
    JsonObject settings = new JsonObject().put("throttleTargetMs", 100)
        .put("throttleProbeUrl", "http://127.0.0.1:" + backend.actualPort() + "/health");
    backendDelayMs.set(300);
    a = SluiceFixture.start(redis.uri(), LIMITS, settings);

    Await.until("the probe of a backend answering in 300 ms to lower the factor", Duration.ofSeconds(30),
        () -> a.sluice().throttle().factorFor("search") < 1.0);
    assertThat(a.await(a.client().getThrottle()).getSubjects(0).getReason()).contains("above target 100.0 ms");
  }

  @Test
  void theFleetsControllerRunsWithOneSetOfSettingsAndAnInstanceWithOthersSaysSo() throws Exception {
    JsonObject first = new JsonObject().put("throttleWindowMs", 100).put("throttleTargetMs", 50);
    a = SluiceFixture.start(redis.uri(), LIMITS, first);
    Await.until("the first instance to run the controller", Duration.ofSeconds(10),
        () -> redis.command(Command.GET, RedisKeys.THROTTLE_SETTINGS) != null);
    b = SluiceFixture.start(redis.uri(), LIMITS, first.copy().put("throttleTargetMs", 100));

    Await.until("the second instance to see that its settings differ", Duration.ofSeconds(10),
        () -> settingsDiffer(b) == 1);
    assertEquals(0, settingsDiffer(a));
    assertEquals(50.0, new JsonObject(b.await(b.client().getThrottle()).getSettingsJson()).getDouble("throttleTargetMs"),
        "every instance shows the settings in force, not its own");

    // Once no instance with the settings in force is live, the others' take over.
    a.close();
    a = null;
    Await.until("the second instance's settings to be in force", Duration.ofSeconds(10), () -> settingsDiffer(b) == 0);
    assertEquals(100.0, new JsonObject(b.await(b.client().getThrottle()).getSettingsJson()).getDouble("throttleTargetMs"));
  }

  private static double settingsDiffer(SluiceFixture instance) {
    return instance.sluice().metrics().registry().find(io.sluice.telemetry.Metrics.THROTTLE_SETTINGS_DIFFER).gauge().value();
  }

  @Test
  void reportedLatencyOfOneActionThrottlesThatActionOnly() {
    startFleet(false);
    a.await(a.client().reportLatency("search", Collections.nCopies(20, 5.0)));
    assertEquals(1.0, a.await(a.client().reportLatency("search", Collections.nCopies(20, 5.0))).getFactor());

    Await.until("reported slowness to lower the factor of search", Duration.ofSeconds(20), () -> {
      b.await(b.client().reportLatency("search", Collections.nCopies(20, 400.0)));
      return a.sluice().throttle().factorFor("search") <= MIN_FACTOR
          && b.sluice().throttle().factorFor("search") <= MIN_FACTOR;
    });
    assertEquals(10, a.check(newUser(), "search").getLimit());
    assertEquals(1.0, a.sluice().throttle().factorFor("browse"), "the backend as a whole is not throttled");
    assertThat(b.await(b.client().reportLatency("search", java.util.List.of(1.0))).getFactor()).isLessThan(1.0);

    Await.until("healthy reports to restore the factor", Duration.ofSeconds(20), () -> {
      a.await(a.client().reportLatency("search", Collections.nCopies(20, 5.0)));
      return a.sluice().throttle().factorFor("search") == 1.0 && b.sluice().throttle().factorFor("search") == 1.0;
    });
    assertEquals(100, b.check(newUser(), "search").getLimit());
  }

  @Test
  void reportsWithBadInputAreRejectedNamingTheField() {
    startFleet(false);
    assertInvalid(() -> a.await(a.client().reportLatency("search", java.util.List.of())), "latency_ms");
    assertInvalid(() -> a.await(a.client().reportLatency("search", java.util.List.of(-1.0))), "latency_ms");
    assertInvalid(() -> a.await(a.client().reportLatency("x".repeat(257), java.util.List.of(1.0))), "action");
    assertEquals(0, redis.command(Command.EXISTS, RedisKeys.THROTTLE_SUBJECTS).toInteger(), "nothing was recorded");
  }

  @Test
  void subjectsWhoseRuleWentAwayAreDroppedFromRedis() {
    startFleet(false);
    a.await(a.client().reportLatency("search", Collections.nCopies(5, 5.0)));
    // An action that had a rule once: its samples, factor and state are left over in Redis.
    redis.command(Command.SADD, RedisKeys.THROTTLE_SUBJECTS, "retired");
    redis.command(Command.RPUSH, RedisKeys.throttleSamples("retired"), "1", "2", "3");
    redis.command(Command.HSET, RedisKeys.THROTTLE_FACTORS, "retired", "0.5");
    redis.command(Command.HSET, RedisKeys.THROTTLE_STATE, "retired", "{\"factor\":0.5}");

    // Dropped by four pipelined commands, not one transaction: looked at together, once all have run.
    Await.until("the retired subject, its samples, factor and state to be dropped", Duration.ofSeconds(10),
        () -> redis.command(Command.SISMEMBER, RedisKeys.THROTTLE_SUBJECTS, "retired").toInteger() == 0
            && redis.command(Command.EXISTS, RedisKeys.throttleSamples("retired")).toInteger() == 0
            && redis.command(Command.HEXISTS, RedisKeys.THROTTLE_FACTORS, "retired").toInteger() == 0
            && redis.command(Command.HEXISTS, RedisKeys.THROTTLE_STATE, "retired").toInteger() == 0);
    assertEquals(1, redis.command(Command.SISMEMBER, RedisKeys.THROTTLE_SUBJECTS, "search").toInteger(), "live subjects stay");
  }

  private static void assertInvalid(Runnable call, String field) {
    CallFailedException e = assertThrows(CallFailedException.class, call::run);
    assertEquals(GrpcStatus.INVALID_ARGUMENT, e.status());
    assertThat(e.getMessage()).contains(field + " must");
  }

  private void awaitFactorOnBoth(String action, java.util.function.DoublePredicate condition) {
    Await.until("the throttle factor of " + action + " on both instances", Duration.ofSeconds(20),
        () -> condition.test(a.sluice().throttle().factorFor(action)) && condition.test(b.sluice().throttle().factorFor(action)));
  }

  private static String newUser() {
    return "user-" + UUID.randomUUID();
  }
}
