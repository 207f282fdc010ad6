package io.sluice.limiter;

import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.Ports;
import io.sluice.support.SluiceFixture;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** With Redis unreachable, checks still get an answer at once: the configured failure mode, marked degraded. */
class RedisOutageTest {

  private static final String LIMITS = "{ \"rules\": { \"default\": { \"capacity\": 1, \"refillPerSecond\": 1 } } }";

  @Test
  void failsOpenByDefault() throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(unreachableRedis(), LIMITS, new JsonObject().put("redisTimeoutMs", 200))) {
      for (int i = 0; i < 3; i++) {
        CheckResponse response = sluice.check("u", "login");
        assertEquals(Decision.ALLOW, response.getDecision());
        assertTrue(response.getDegraded());
        assertEquals("default", response.getRule());
      }
    }
  }

  @Test
  void failsClosedWhenConfigured() throws Exception {
    JsonObject settings = new JsonObject().put("redisTimeoutMs", 200).put("failureMode", "deny");
    try (SluiceFixture sluice = SluiceFixture.start(unreachableRedis(), LIMITS, settings)) {
      CheckResponse response = sluice.check("u", "login");
      assertEquals(Decision.DENY, response.getDecision());
      assertTrue(response.getDegraded());
    }
  }

  /** A loopback port nothing listens on. */
  private static String unreachableRedis() {
    return "redis://127.0.0.1:" + Ports.free();
  }
}
