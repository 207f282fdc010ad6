package io.sluice.limiter;

import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestClock;
import io.sluice.support.TestRedis;
import io.sluice.telemetry.Metrics;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What an instance decides on its own clock, tested by moving that clock instead of waiting: the
 * refill of a local bucket while Redis is away, and the end of a cached refusal.
 */
@ExtendWith(RedisExtension.class)
class DecisionClockTest {

  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 10, "refillPerSecond": 1 },
                   "slow": { "capacity": 2, "refillPerSecond": 0.01, "failureMode": "local" },
                   "login": { "capacity": 1, "refillPerSecond": 0.001,
                              "abuse": { "maxViolations": 1, "windowSeconds": 60, "banSeconds": 60 } } } }
      """;

  @Test
  void aLocalBucketRefillsAtItsRateWhileRedisIsAway() throws Exception {
    TestClock clock = new TestClock();
    try (SluiceFixture sluice = SluiceFixture.cutOff(LIMITS, new JsonObject(), clock)) {
      String user = "local-" + UUID.randomUUID();
      for (int i = 0; i < 2; i++) {
        CheckResponse allowed = sluice.check(user, "slow");
        assertEquals(Decision.ALLOW, allowed.getDecision());
        assertTrue(allowed.getDegraded(), "the local bucket answered, not Redis");
      }
      CheckResponse empty = sluice.check(user, "slow");
      assertEquals(Decision.DENY, empty.getDecision());
      assertTrue(empty.getDegraded(), "the failure mode answered");
      assertThat(empty.getRetryAfterMs()).as("one token at 0.01/s").isBetween(99_000L, 100_000L);

      // A hundred seconds, at once: one token back, and one only.
      clock.advance(Duration.ofSeconds(100));
      assertEquals(Decision.ALLOW, sluice.check(user, "slow").getDecision());
      assertEquals(Decision.DENY, sluice.check(user, "slow").getDecision());
    }
  }

  @Test
  void aCachedRefusalEndsWhenItsWaitIsOver(TestRedis redis) throws Exception {
    TestClock clock = new TestClock();
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject(), clock)) {
      String user = "cached-" + UUID.randomUUID();
      sluice.check(user, "slow", 2);
      CheckResponse refused = sluice.check(user, "slow");
      assertEquals(Decision.DENY, refused.getDecision());
      double hits = sluice.counter(Metrics.DENY_CACHE_HITS);
      assertEquals(Decision.DENY, sluice.check(user, "slow").getDecision());
      assertEquals(hits + 1, sluice.counter(Metrics.DENY_CACHE_HITS), "certain, so answered from the cache");

      // Past the wait Redis gave, the cache is no longer certain: Redis is asked (and, on its own
      // clock, where no time passed, refuses again).
      clock.advance(Duration.ofMillis(refused.getRetryAfterMs() + 1));
      assertEquals(Decision.DENY, sluice.check(user, "slow").getDecision());
      assertEquals(hits + 1, sluice.counter(Metrics.DENY_CACHE_HITS), "asked of Redis, not the cache");
    }
  }

  @Test
  void aCachedBanEndsWhenItsTimeIsUp(TestRedis redis) throws Exception {
    TestClock clock = new TestClock();
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject(), clock)) {
      String user = "banned-" + UUID.randomUUID();
      sluice.check(user, "login");
      assertEquals(Decision.BAN, sluice.check(user, "login").getDecision(), "the first refusal bans");
      double hits = sluice.counter(Metrics.BAN_CACHE_HITS);
      assertEquals(Decision.BAN, sluice.check(user, "login").getDecision());
      assertEquals(hits + 1, sluice.counter(Metrics.BAN_CACHE_HITS), "the ban is known here: answered from the cache");

      // Past its end on the instance's clock the cache lets go; Redis, where no time passed, still bans.
      clock.advance(Duration.ofSeconds(61));
      assertEquals(Decision.BAN, sluice.check(user, "login").getDecision());
      assertEquals(hits + 1, sluice.counter(Metrics.BAN_CACHE_HITS), "asked of Redis, not the cache");
    }
  }
}
