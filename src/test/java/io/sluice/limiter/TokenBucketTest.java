package io.sluice.limiter;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.redis.RedisKeys;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The token bucket as a backend sees it: real gRPC calls to one instance, real Redis behind it. */
@ExtendWith(RedisExtension.class)
class TokenBucketTest {

  /** 1000 s per token: over a test's few seconds no token comes back, so counts are exact. */
  private static final double SLOW = 0.001;

  private static TestRedis redis;
  private static SluiceFixture sluice;

  @BeforeAll
  static void start(TestRedis testRedis) {
    redis = testRedis;
    sluice = SluiceFixture.start(redis.uri(), """
        { "rules": {
            "default": { "capacity": 3, "refillPerSecond": 0.001 },
            "login":   { "capacity": 5, "refillPerSecond": 0.001 },
            "bulk":    { "capacity": 10, "refillPerSecond": 2 },
            "fast":    { "capacity": 2, "refillPerSecond": 20 },
            "single":  { "capacity": 1, "refillPerSecond": 0.001 } } }
        """);
  }

  @AfterAll
  static void stop() throws Exception {
    sluice.close();
  }

  @Test
  void allowsBurstUpToCapacityThenDeniesWithExactRetryAfter() {
    String user = newUser();
    long started = System.nanoTime();
    for (int expectedRemaining = 4; expectedRemaining >= 0; expectedRemaining--) {
      CheckResponse allowed = sluice.check(user, "login");
      assertEquals(Decision.ALLOW, allowed.getDecision());
      assertEquals(expectedRemaining, allowed.getRemaining());
      assertEquals(5, allowed.getLimit());
      assertEquals("login", allowed.getRule());
    }
    CheckResponse denied = sluice.check(user, "login");
    long elapsedMs = (System.nanoTime() - started) / 1_000_000 + 1;

    assertEquals(Decision.DENY, denied.getDecision());
    assertEquals(0, denied.getRemaining());
    // One token takes 1,000,000 ms; the first token was taken at most elapsedMs ago.
    assertThat(denied.getRetryAfterMs()).isBetween(1_000_000 - elapsedMs, 1_000_000L);
    // Five tokens are missing: the bucket is full 5,000,000 ms after the first was taken.
    assertThat(denied.getResetAfterMs()).isBetween(5_000_000 - elapsedMs, 5_000_000L);
  }

  @Test
  void firstCheckOfAFreshBucketReportsExactRemainingAndReset() {
    CheckResponse first = sluice.check(newUser(), "bulk", 3);
    assertEquals(Decision.ALLOW, first.getDecision());
    assertEquals(7, first.getRemaining());
    assertEquals(0, first.getRetryAfterMs());
    // Three tokens at 2 per second.
    assertEquals(1500, first.getResetAfterMs());
  }

  @Test
  void costAboveOneTakesThatManyTokensAndWaitsForThemAll() {
    String user = newUser();
    assertEquals(6, sluice.check(user, "bulk", 4).getRemaining());
    assertEquals(2, sluice.check(user, "bulk", 4).getRemaining());
    CheckResponse denied = sluice.check(user, "bulk", 4);
    assertEquals(Decision.DENY, denied.getDecision());
    // Two tokens (plus what refilled meanwhile) are there; two more take at most 1000 ms at 2 per second.
    assertThat(denied.getRetryAfterMs()).isBetween(1L, 1000L);
    // A smaller request still fits in what is left.
    assertEquals(Decision.ALLOW, sluice.check(user, "bulk", 2).getDecision());
  }

  @Test
  void refillsContinuouslySoRetryAfterIsEnough() throws InterruptedException {
    String user = newUser();
    sluice.check(user, "fast");
    sluice.check(user, "fast");
    CheckResponse denied = sluice.check(user, "fast");
    assertEquals(Decision.DENY, denied.getDecision());
    assertThat(denied.getRetryAfterMs()).isBetween(1L, 50L);

    // Time passing is what is tested here: after retry_after_ms a token exists.
    Thread.sleep(denied.getRetryAfterMs());
    assertEquals(Decision.ALLOW, sluice.check(user, "fast").getDecision());
  }

  @Test
  void bucketKeyExpiresWhenTheBucketWouldBeFull() {
    String user = newUser();
    CheckResponse response = sluice.check(user, "bulk", 5);
    long pttl = redis.command(Command.PTTL, RedisKeys.bucket(user, "bulk")).toLong();
    assertThat(pttl).isBetween(1L, response.getResetAfterMs());
  }

  @Test
  void actionsWithoutARuleShareTheDefaultRulesBucketSoMadeUpNamesGainNothing() {
    String user = newUser();
    CheckResponse search = sluice.check(user, "search");
    assertEquals("default", search.getRule());
    assertEquals(2, search.getRemaining());
    assertEquals(1, sluice.check(user, "export").getRemaining());
    assertEquals(0, sluice.check(user, "export-" + UUID.randomUUID()).getRemaining());
    for (int i = 0; i < 20; i++) {
      assertEquals(Decision.DENY, sluice.check(user, "made-up-" + i).getDecision(), "the default rule's 3 tokens are spent");
    }
    assertEquals(Decision.ALLOW, sluice.check(user, "login").getDecision(), "an action with a rule of its own has its own bucket");
  }

  @Test
  void controlCharactersInNamesAreRefusedSoNoLogLineCanBeForged() {
    assertInvalid("user_id", "mallory\nINFO sluice.bans - unbanned everyone", "login", 1);
    assertInvalid("action", newUser(), "login\r\n", 1);
    assertInvalid("user_id", "nul\u0000", "login", 1);
    assertInvalid("action", newUser(), "del\u007f", 1);
    assertInvalid("user_id", "line\u2028separator", "login", 1);
  }

  @Test
  void pairsThatWouldCollideWhenJoinedNaivelyKeepSeparateBuckets() {
    String prefix = newUser();
    // Both actions fall to the default rule (capacity 3): empty one bucket, the other stays full.
    assertEquals(0, sluice.check(prefix + "a:b", "c", 3).getRemaining());
    assertEquals(2, sluice.check(prefix + "a", "b:c").getRemaining());
    assertEquals(Decision.DENY, sluice.check(prefix + "a:b", "c").getDecision());

    assertEquals(Decision.ALLOW, sluice.check(prefix + "{x}", "single").getDecision());
    assertEquals(Decision.ALLOW, sluice.check(prefix + "x", "single").getDecision());
    assertEquals(Decision.ALLOW, sluice.check(prefix + "%7Bx%7D", "single").getDecision());
    assertEquals(Decision.DENY, sluice.check(prefix + "{x}", "single").getDecision());
  }

  @Test
  void recoversTransparentlyAfterScriptFlush() {
    String user = newUser();
    assertEquals(4, sluice.check(user, "login").getRemaining());
    redis.command(Command.SCRIPT, "FLUSH");
    CheckResponse afterFlush = sluice.check(user, "login");
    assertFalse(afterFlush.getDegraded());
    assertEquals(Decision.ALLOW, afterFlush.getDecision());
    assertEquals(3, afterFlush.getRemaining());
    assertEquals(2, sluice.check(user, "login").getRemaining());
  }

  @Test
  void rejectsEmptyOrOverlongUserIdNamingTheField() {
    assertInvalid("user_id", "", "login", 1);
    assertInvalid("user_id", "u".repeat(257), "login", 1);
    // 129 two-byte characters are 258 bytes: the bound is on bytes, not characters.
    assertInvalid("user_id", "é".repeat(129), "login", 1);
  }

  @Test
  void acceptsNamesOfExactlyTheMaximumByteLength() {
    assertEquals(Decision.ALLOW, sluice.check("é".repeat(128), newUser().substring(0, 8) + "a".repeat(248)).getDecision());
  }

  @Test
  void rejectsEmptyOrOverlongActionNamingTheField() {
    assertInvalid("action", newUser(), "", 1);
    assertInvalid("action", newUser(), "a".repeat(257), 1);
  }

  @Test
  void rejectsCostAboveTheRulesCapacity() {
    assertInvalid("cost", newUser(), "login", 6);
    assertInvalid("cost", newUser(), "login", -1);
  }

  @Test
  void eachCheckIsOneScriptCallInRedis() {
    String user = newUser();
    sluice.check(user, "bulk");
    long evalshaBefore = redis.calls("evalsha");
    long evalBefore = redis.calls("eval");
    // Allowed ones: a refusal may be answered without Redis while it is certain (CertainRefusalTest).
    for (int i = 0; i < 9; i++) {
      assertEquals(io.sluice.grpc.v1.Decision.ALLOW, sluice.check(user, "bulk").getDecision());
    }
    assertEquals(9, redis.calls("evalsha") - evalshaBefore);
    assertEquals(0, redis.calls("eval") - evalBefore);
  }

  @Test
  void costZeroMeansOne() {
    assertEquals(4, sluice.check(newUser(), "login", 0).getRemaining());
  }

  private static void assertInvalid(String field, String user, String action, int cost) {
    java.util.Set<String> keysBefore = redis.keys();
    long scriptCallsBefore = redis.scriptCalls();

    CallFailedException e = assertThrows(CallFailedException.class, () -> sluice.check(user, action, cost));

    assertEquals(GrpcStatus.INVALID_ARGUMENT, e.status());
    assertThat(e.getMessage()).contains(field + " must ");
    assertThat(redis.keys()).as("no key written").isSubsetOf(keysBefore);
    assertEquals(scriptCallsBefore, redis.scriptCalls(), "no script run");
  }

  private static String newUser() {
    return "user-" + UUID.randomUUID();
  }
}
