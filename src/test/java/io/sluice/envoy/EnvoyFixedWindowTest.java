package io.sluice.envoy;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.sluice.support.Await;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static io.sluice.envoy.EnvoyRateLimitTest.ask;
import static io.sluice.envoy.EnvoyRateLimitTest.descriptor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** envoyAlgorithm fixed_window: envoyproxy/ratelimit's numbers, on Redis's clock, exact across instances. */
@ExtendWith(RedisExtension.class)
class EnvoyFixedWindowTest {

  private static final String RULES = """
      domain: edge
      descriptors:
        - key: remote_address
          rate_limit: {unit: minute, requests_per_unit: 3}
        - key: burst
          rate_limit: {unit: second, requests_per_unit: 2}
        - key: per_minute
          rate_limit: {unit: minute, requests_per_unit: 20}
        - key: per_hour
          rate_limit: {unit: hour, requests_per_unit: 10}
        - key: blocked
          rate_limit: {unit: hour, requests_per_unit: 0}
      """;

  private static final String LIMITS = "{ \"rules\": { \"default\": { \"capacity\": 10, \"refillPerSecond\": 1 } } }";

  private static JsonObject settings() throws Exception {
    Path dir = Files.createTempDirectory("envoy-fixed");
    Files.writeString(dir.resolve("edge.yaml"), RULES);
    return new JsonObject().put("envoyRules", dir.toString()).put("envoyAlgorithm", "fixed_window");
  }

  /**
   * Repeated refusals are answered from the instance's cache of certain refusals, and still report
   * what envoyproxy/ratelimit reports: the time until the window ends, unit - now % unit.
   */
  @Test
  void everyRefusalReportsTheTimeUntilTheWindowEnds(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, settings())) {
      for (long[] limit : new long[][] {{20, 60}, {10, 3600}}) {
        long perUnit = limit[0];
        long unit = limit[1];
        RateLimitDescriptor key = descriptor(unit == 60 ? "per_minute" : "per_hour", UUID.randomUUID().toString());
        // Not across the end of a window, which would start the count over midway.
        Await.until("a window with 10 s left at least", Duration.ofSeconds(15), () -> unit - redisSecond(redis) % unit > 10);
        for (int i = 0; i < perUnit; i++) {
          assertEquals(Code.OK, ask(sluice, "edge", key).getOverallCode());
        }
        for (int refusal = 1; refusal <= 3; refusal++) {
          RateLimitResponse over = ask(sluice, "edge", key);
          long due = unit - redisSecond(redis) % unit;
          assertEquals(Code.OVER_LIMIT, over.getOverallCode());
          assertThat(over.getStatuses(0).getDurationUntilReset().getSeconds())
              .as("refusal %d of a %d per %d s limit: %d - now %% %d", refusal, perUnit, unit, unit, unit).isBetween(due - 1, due + 1);
        }
      }
      assertThat(sluice.counter(io.sluice.telemetry.Metrics.DENY_CACHE_HITS)).as("refusals answered from the cache").isGreaterThanOrEqualTo(4);

      RateLimitResponse blocked = ask(sluice, "edge", descriptor("blocked", "anyone"));
      assertEquals(Code.OVER_LIMIT, blocked.getOverallCode());
      long due = 3600 - redisSecond(redis) % 3600;
      assertThat(blocked.getStatuses(0).getDurationUntilReset().getSeconds()).as("requests_per_unit 0: 3600 - now %% 3600")
          .isBetween(due - 1, due + 1);
    }
  }

  /** A descriptor's own limit in weeks (type.v3.RateLimitUnit WEEK, 7) limits, as any other unit. */
  @Test
  void aLimitOverrideInWeeksLimits(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, settings())) {
      RateLimitDescriptor weekly = descriptor("remote_address", UUID.randomUUID().toString()).toBuilder()
          .setLimit(RateLimitDescriptor.RateLimitOverride.newBuilder().setRequestsPerUnit(1).setUnitValue(7)).build();
      RateLimitResponse first = ask(sluice, "edge", weekly);
      assertEquals(Code.OK, first.getOverallCode());
      assertEquals(RateLimitResponse.RateLimit.Unit.WEEK, first.getStatuses(0).getCurrentLimit().getUnit());
      RateLimitResponse second = ask(sluice, "edge", weekly);
      assertEquals(Code.OVER_LIMIT, second.getOverallCode(), "one a week: " + second);
      assertThat(second.getStatuses(0).getDurationUntilReset().getSeconds()).isBetween(1L, 7 * 86_400L);
    }
  }

  static long redisSecond(TestRedis redis) {
    try {
      return Long.parseLong(redis.command(Command.TIME).get(0).toString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void countsAsEnvoyproxyRatelimitDoesInWindowsOfRedisTime(TestRedis redis) throws Exception {
    JsonObject settings = settings();
    String limits = LIMITS;
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), limits, settings);
         SluiceFixture b = SluiceFixture.start(redis.uri(), limits, settings)) {
      RateLimitDescriptor ip = descriptor("remote_address", UUID.randomUUID().toString());
      for (int remaining = 2; remaining >= 0; remaining--) {
        RateLimitResponse ok = ask(remaining % 2 == 0 ? a : b, "edge", ip);
        assertEquals(Code.OK, ok.getOverallCode());
        assertEquals(remaining, ok.getStatuses(0).getLimitRemaining());
        long redisSecond = redisSecond(redis);
        assertThat(ok.getStatuses(0).getDurationUntilReset().getSeconds()).as("60 - now %% 60, on Redis's clock")
            .isBetween(60 - redisSecond % 60 - 1, 60 - redisSecond % 60 + 1);
      }
      RateLimitResponse over = ask(a, "edge", ip);
      assertEquals(Code.OVER_LIMIT, over.getOverallCode());
      assertEquals(0, over.getStatuses(0).getLimitRemaining());

      RateLimitDescriptor burst = descriptor("burst", UUID.randomUUID().toString());
      List<Future<RateLimitResponse>> answers = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        answers.add((i % 2 == 0 ? a : b).client().shouldRateLimit(RateLimitRequest.newBuilder().setDomain("edge").addDescriptors(burst).build()));
      }
      Future.all(answers).await(30, TimeUnit.SECONDS);
      long allowed = answers.stream().filter(answer -> answer.result().getOverallCode() == Code.OK).count();
      assertThat(allowed).as("2 per window: at most two windows met the burst").isBetween(2L, 4L);
      // The window starts over with the next second of Redis's clock.
      Await.until("a new window", Duration.ofSeconds(3), () -> ask(a, "edge", burst).getOverallCode() == Code.OK);
    }
  }
}
