package io.sluice.limiter;

import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.Await;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A hot key that keeps being refused: each instance asks Redis once per window and answers the
 * rest itself, with what Redis would have answered; never where a refusal is not certain, and
 * never for a rule whose denials count toward a ban.
 */
@ExtendWith(RedisExtension.class)
class CertainRefusalTest {

  private static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 10 },
          "export": { "capacity": 5, "refillPerSecond": 0.01 },
          "login": { "capacity": 1, "refillPerSecond": 0.01, "abuse": { "maxViolations": 3, "banSeconds": 60 } } } }
      """;

  @Test
  void aRefusedHotKeyCostsEachInstanceOneRedisCallPerWindow(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = newUser();
      assertEquals(Decision.ALLOW, a.check(user, "export", 5).getDecision());
      CheckResponse refusedByRedis = a.check(user, "export", 1);
      assertEquals(Decision.DENY, refusedByRedis.getDecision());
      assertEquals(Decision.DENY, b.check(user, "export", 1).getDecision());

      long scriptCalls = redis.scriptCalls();
      for (int i = 0; i < 100; i++) {
        for (SluiceFixture instance : new SluiceFixture[] {a, b}) {
          CheckResponse refused = instance.check(user, "export", 1 + i % 5);
          assertEquals(Decision.DENY, refused.getDecision());
          assertFalse(refused.getDegraded());
          assertEquals(0, refused.getRemaining());
          assertThat(refused.getRetryAfterMs()).as("the wait for the tokens asked for")
              .isBetween(refusedByRedis.getRetryAfterMs() - 10_000 + (i % 5) * 100_000L, refusedByRedis.getRetryAfterMs() + (i % 5) * 100_000L);
        }
      }
      assertEquals(scriptCalls, redis.scriptCalls(), "200 certain refusals, not one Redis call");
      assertThat(a.sluice().metrics().scrape()).contains("sluice_deny_cache_hits_total 100.0");
    }
  }

  @Test
  void aSmallerRequestStillGoesToRedisAndMayPass(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = newUser();
      assertEquals(Decision.ALLOW, sluice.check(user, "export", 4).getDecision());
      assertEquals(Decision.DENY, sluice.check(user, "export", 2).getDecision());
      long scriptCalls = redis.scriptCalls();
      assertEquals(Decision.ALLOW, sluice.check(user, "export", 1).getDecision(), "one token is there");
      assertEquals(scriptCalls + 1, redis.scriptCalls());
    }
  }

  @Test
  void everyDenialOfARuleWithAnAbusePolicyReachesRedisAndCounts(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = newUser();
      assertEquals(Decision.ALLOW, sluice.check(user, "login").getDecision());
      long scriptCalls = redis.scriptCalls();
      assertEquals(1, sluice.check(user, "login").getViolations());
      assertEquals(2, sluice.check(user, "login").getViolations());
      assertEquals(Decision.BAN, sluice.check(user, "login").getDecision());
      assertEquals(scriptCalls + 3, redis.scriptCalls());
    }
  }

  @Test
  void aRedisThatComesBackEmptyIsAskedAgain() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = newUser();
      assertEquals(Decision.ALLOW, sluice.check(user, "export", 5).getDecision());
      assertEquals(Decision.DENY, sluice.check(user, "export", 1).getDecision());

      redis.killAndRestartEmpty();
      // The bucket went with Redis: once Redis answers again, the user has a full bucket.
      Await.until("a decision from the new redis", Duration.ofSeconds(10), () -> !sluice.check(newUser(), "default").getDegraded());
      CheckResponse afterRestart = sluice.check(user, "export", 1);
      assertFalse(afterRestart.getDegraded());
      assertEquals(Decision.ALLOW, afterRestart.getDecision());
      assertEquals(4, afterRestart.getRemaining());
    }
  }

  private static String newUser() {
    return "hot-" + UUID.randomUUID();
  }
}
