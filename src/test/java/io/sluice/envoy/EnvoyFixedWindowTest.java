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
      """;

  @Test
  void countsAsEnvoyproxyRatelimitDoesInWindowsOfRedisTime(TestRedis redis) throws Exception {
    Path dir = Files.createTempDirectory("envoy-fixed");
    Files.writeString(dir.resolve("edge.yaml"), RULES);
    JsonObject settings = new JsonObject().put("envoyRules", dir.toString()).put("envoyAlgorithm", "fixed_window");
    String limits = "{ \"rules\": { \"default\": { \"capacity\": 10, \"refillPerSecond\": 1 } } }";
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), limits, settings);
         SluiceFixture b = SluiceFixture.start(redis.uri(), limits, settings)) {
      RateLimitDescriptor ip = descriptor("remote_address", UUID.randomUUID().toString());
      for (int remaining = 2; remaining >= 0; remaining--) {
        RateLimitResponse ok = ask(remaining % 2 == 0 ? a : b, "edge", ip);
        assertEquals(Code.OK, ok.getOverallCode());
        assertEquals(remaining, ok.getStatuses(0).getLimitRemaining());
        long redisSecond = Long.parseLong(redis.command(Command.TIME).get(0).toString());
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
