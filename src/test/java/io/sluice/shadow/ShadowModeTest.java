package io.sluice.shadow;

import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.limits.LimitsStore;
import io.sluice.redis.RedisKeys;
import io.sluice.support.Await;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.telemetry.Metrics;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.nio.file.Files;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shadow mode: everything computed and recorded as if enforcing, nothing blocked. */
@ExtendWith(RedisExtension.class)
class ShadowModeTest {

  private static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 5, "refillPerSecond": 0.001 },
          "login": { "capacity": 2, "refillPerSecond": 0.001, "shadow": true,
                     "abuse": { "maxViolations": 2, "banSeconds": 60, "scope": "user" } } } }
      """;

  private TestRedis redis;

  @AfterEach
  void dropPublishedLimits() {
    if (redis != null) {
      redis.command(Command.DEL, RedisKeys.LIMITS_KEY);
    }
  }

  @Test
  void overLimitTrafficIsAllowedSayingWhatEnforcingWouldHaveDone(TestRedis testRedis) throws Exception {
    redis = testRedis;
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = newUser();
      assertEquals(1, sluice.check(user, "login").getRemaining());
      assertEquals(0, sluice.check(user, "login").getRemaining());

      CheckResponse wouldDeny = sluice.check(user, "login");
      assertEquals(Decision.ALLOW, wouldDeny.getDecision());
      assertTrue(wouldDeny.getShadow());
      assertEquals(Decision.DENY, wouldDeny.getShadowDecision());
      assertEquals(1, wouldDeny.getViolations(), "violations are recorded as if enforcing");

      CheckResponse wouldBan = sluice.check(user, "login");
      assertEquals(Decision.ALLOW, wouldBan.getDecision());
      assertEquals(Decision.BAN, wouldBan.getShadowDecision());
      assertEquals(Decision.BAN, sluice.check(user, "login").getShadowDecision(), "the shadow ban is remembered");

      // A shadow ban of scope "user" blocks nothing, not even the user's other actions.
      CheckResponse other = sluice.check(user, "search");
      assertEquals(Decision.ALLOW, other.getDecision());
      assertFalse(other.getShadow());

      Metrics metrics = sluice.sluice().metrics();
      assertEquals(1, metrics.shadowWouldBlockCount("login", "DENY"));
      assertEquals(2, metrics.shadowWouldBlockCount("login", "BAN"));
    }
  }

  @Test
  void aRealBanStillBlocksAShadowedRule(TestRedis testRedis) throws Exception {
    redis = testRedis;
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = newUser();
      sluice.await(sluice.client().ban(user, "", 60, "fraud"));
      CheckResponse response = sluice.check(user, "login");
      assertEquals(Decision.BAN, response.getDecision());
      assertFalse(response.getShadow());
    }
  }

  @Test
  void switchingShadowOffLiveStartsEnforcing(TestRedis testRedis) throws Exception {
    redis = testRedis;
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("limitsScanMs", 50))) {
      String user = newUser();
      sluice.check(user, "login");
      sluice.check(user, "login");
      assertEquals(Decision.ALLOW, sluice.check(user, "login").getDecision());

      java.nio.file.Files.writeString(sluice.limitsFile(), LIMITS.replace("\"shadow\": true,", ""));
      Await.until("enforcing", Duration.ofSeconds(5), () -> !sluice.sluice().limits().get().ruleFor("login").shadow());
      CheckResponse enforced = sluice.check(user, "login");
      // The violation recorded in shadow counts: this second one bans, for real now.
      assertEquals(Decision.BAN, enforced.getDecision());
      assertEquals(2, enforced.getViolations());
      assertFalse(enforced.getShadow());
    }
  }

  @Test
  void theGlobalSwitchInTheLimitsShadowsEveryRuleAndIsLive(TestRedis testRedis) throws Exception {
    redis = testRedis;
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      sluice.awaitSubscribed();
      Await.until("the limits subscription", Duration.ofSeconds(5), () -> sluice.sluice().limitsSubscribed());
      String user = newUser();
      assertEquals(0, sluice.check(user, "search", 5).getRemaining());
      assertEquals(Decision.DENY, sluice.check(user, "search").getDecision());

      publish(sluice, "{\"shadow\": true}");
      Await.until("global shadow", Duration.ofSeconds(5), () -> sluice.sluice().limits().get().shadow());
      CheckResponse shadowed = sluice.check(user, "search");
      assertEquals(Decision.ALLOW, shadowed.getDecision());
      assertEquals(Decision.DENY, shadowed.getShadowDecision());
      assertEquals(1, sluice.sluice().metrics().shadowWouldBlockCount("default", "DENY"));

      publish(sluice, "{\"shadow\": false}");
      Await.until("enforcing", Duration.ofSeconds(5), () -> !sluice.sluice().limits().get().shadow());
      assertEquals(Decision.DENY, sluice.check(user, "search").getDecision());
    }
  }

  @Test
  void theShadowSettingShadowsEverythingIncludingTheDenylist(TestRedis testRedis) throws Exception {
    redis = testRedis;
    String limits = LIMITS.replace("\"rules\": {", "\"denylist\": [\"mallory\"], \"rules\": {");
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), limits, new JsonObject().put("shadow", true))) {
      CheckResponse response = sluice.check("mallory", "search");
      assertEquals(Decision.ALLOW, response.getDecision());
      assertEquals(Decision.BAN, response.getShadowDecision());
    }
  }

  private static void publish(SluiceFixture sluice, String message) {
    io.vertx.redis.client.Redis client = io.vertx.redis.client.Redis.createClient(sluice.sluice().vertx(),
        io.sluice.redis.RedisClients.options(sluice.sluice().settings().redis()));
    try {
      sluice.await(LimitsStore.publish(sluice.sluice().vertx(), client, message, new JsonObject(Files.readString(sluice.limitsFile())), 5000));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } finally {
      client.close();
    }
  }

  private static String newUser() {
    return "shadow-" + UUID.randomUUID();
  }
}
