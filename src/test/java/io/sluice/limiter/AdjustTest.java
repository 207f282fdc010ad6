package io.sluice.limiter;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.AdjustRequest;
import io.sluice.grpc.v1.AdjustResponse;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.grpc.v1.SetOverrideRequest;
import io.sluice.redis.RedisKeys;
import io.sluice.support.Cli;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Future;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Settled costs (RateLimiter/Adjust): what the work really cost, taken from or given back to the
 * user's bucket and quota in one atomic call, exact under concurrency, once per adjustment id.
 */
@ExtendWith(RedisExtension.class)
class AdjustTest {

  static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 10 },
          "llm": { "capacity": 10000, "refillPerSecond": 0.001, "quota": { "limit": 100000, "period": "month" } },
          "calls": { "capacity": 10, "refillPerSecond": 1 } } }
      """;

  private static AdjustRequest adjust(String user, String action, long delta) {
    return AdjustRequest.newBuilder().setUserId(user).setAction(action).setDelta(delta).build();
  }

  private static double tokens(TestRedis redis, String user, String rule) {
    return Double.parseDouble(redis.command(Command.HGET, RedisKeys.bucket(user, rule), "tokens").toString());
  }

  @Test
  void settledCostsSumExactlyUnderConcurrencyInBucketAndQuota(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = "tenant-" + UUID.randomUUID();
      // Spent first, so that no give-back below meets a full bucket or an unused quota, where it would stop.
      assertThat(a.await(a.client().adjust(adjust(user, "llm", 1000))).getApplied()).isTrue();
      List<Future<AdjustResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        calls.add((i % 2 == 0 ? a : b).client().adjust(adjust(user, "llm", i % 4 == 3 ? -5 : 30)));
      }
      Future.all(calls).await(30, TimeUnit.SECONDS);
      assertThat(calls).allMatch(call -> call.result().getApplied());
      // 1000, then 150 took 30 and 50 gave 5 back: 5250 in all.
      assertThat(tokens(redis, user, "llm")).as("every settled cost counted once").isBetween(10_000 - 5250.0, 10_000 - 5250 + 0.1);
      assertEquals("5250", redis.command(Command.HGET, RedisKeys.quota(user, "llm"), "used").toString());
      CheckResponse check = a.check(user, "llm");
      assertEquals(100_000 - 5251, check.getQuotaRemaining());
    }
  }

  @Test
  void aRetriedAdjustmentIdIsAppliedOnceEvenConcurrently(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = "retrier-" + UUID.randomUUID();
      AdjustRequest once = adjust(user, "llm", 1300).toBuilder().setAdjustmentId("call-42").build();
      List<Future<AdjustResponse>> retries = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        retries.add((i % 2 == 0 ? a : b).client().adjust(once));
      }
      Future.all(retries).await(30, TimeUnit.SECONDS);
      assertEquals(1, retries.stream().filter(call -> call.result().getApplied()).count(), "one of fifty applied");
      assertThat(tokens(redis, user, "llm")).isBetween(8700.0, 8700.1);
      AdjustResponse again = a.await(a.client().adjust(once));
      assertThat(again.getApplied()).isFalse();
      assertEquals(8700, again.getRemaining(), "a retry says where the balance is");
      assertThat(a.await(a.client().adjust(once.toBuilder().setAdjustmentId("call-43").build())).getApplied())
          .as("another id is another adjustment").isTrue();
    }
  }

  @Test
  void aDebtMakesChecksWaitAndAGiveBackNeverPassesAFullBucket(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = "debtor-" + UUID.randomUUID();
      assertEquals(Decision.ALLOW, a.check(user, "calls").getDecision());
      AdjustResponse owed = a.await(a.client().adjust(adjust(user, "calls", 14)));
      assertThat(owed.getRemaining()).as("9 left, 14 more taken").isEqualTo(-5);
      CheckResponse waiting = a.check(user, "calls");
      assertEquals(Decision.DENY, waiting.getDecision());
      assertThat(waiting.getRetryAfterMs()).as("until the debt and one token are refilled at 1/s").isBetween(5_000L, 6_000L);
      assertEquals(0, waiting.getRemaining());

      AdjustResponse repaid = a.await(a.client().adjust(adjust(user, "calls", -1000)));
      assertEquals(10, repaid.getRemaining(), "never above the capacity");
      assertEquals(0, redis.command(Command.EXISTS, RedisKeys.bucket(user, "calls")).toInteger(), "full: as an absent bucket");
      String quotaUser = "refunded-" + UUID.randomUUID();
      a.check(quotaUser, "llm");
      AdjustResponse refunded = a.await(a.client().adjust(adjust(quotaUser, "llm", -500)));
      assertThat(refunded.getHasQuota()).isTrue();
      assertEquals(100_000, refunded.getQuotaRemaining(), "no quota use below none");
    }
  }

  @Test
  void badInputIsInvalidArgumentNamingTheFieldAndChangesNothing(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = "bad-" + UUID.randomUUID();
      CallFailedException zero = assertThrows(CallFailedException.class, () -> a.await(a.client().adjust(adjust(user, "llm", 0))));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, zero.status());
      assertThat(zero.getMessage()).contains("delta must be a whole number of tokens");
      CallFailedException huge = assertThrows(CallFailedException.class, () -> a.await(a.client().adjust(adjust(user, "llm", Long.MIN_VALUE))));
      assertThat(huge.getMessage()).contains("delta must be");
      CallFailedException longId = assertThrows(CallFailedException.class, () -> a.await(a.client().adjust(adjust(user, "llm", 5)
          .toBuilder().setAdjustmentId("x".repeat(129)).build())));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, longId.status());
      assertThat(longId.getMessage()).contains("adjustment_id");
      assertThat(redis.keys()).noneMatch(key -> key.contains(user));
    }
  }

  @Test
  void theStoredPlanAndTheUsersOverrideSettleAsTheyDecidedTheCheck(TestRedis redis) throws Exception {
    String planned = LIMITS.replace("\"calls\": { \"capacity\": 10, \"refillPerSecond\": 1 } }",
        "\"calls\": { \"capacity\": 10, \"refillPerSecond\": 1, \"overridable\": true } }, "
            + "\"tiers\": { \"pro\": { \"llm\": { \"capacity\": 20000, \"quota\": { \"limit\": 200000, \"period\": \"month\" } } } }");
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), planned);
         SluiceFixture b = SluiceFixture.start(redis.uri(), planned)) {
      String pro = "pro-" + UUID.randomUUID();
      a.await(a.client().setTier(pro, "pro"));
      CheckResponse checked = a.await(a.client().check(CheckRequest.newBuilder().setUserId(pro).setAction("llm").setCost(500).build()));
      assertEquals("pro", checked.getTier());
      assertEquals(19_500, checked.getRemaining());
      AdjustResponse taken = b.await(b.client().adjust(adjust(pro, "llm", 1300)));
      assertEquals("pro", taken.getTier(), "the plan stored for the user, read in the settlement's own call");
      assertEquals(18_200, taken.getRemaining());
      assertEquals(200_000 - 1800, taken.getQuotaRemaining(), "the plan's quota, not the rule's");
      AdjustResponse givenBack = b.await(b.client().adjust(adjust(pro, "llm", -5000)));
      assertEquals(20_000, givenBack.getRemaining(), "a give-back fills up to the plan's capacity, not the rule's 10,000");

      String plain = "plain-" + UUID.randomUUID();
      AdjustResponse rule = a.await(a.client().adjust(adjust(plain, "llm", 1800)));
      assertEquals("", rule.getTier());
      assertEquals(8_200, rule.getRemaining());
      assertEquals(98_200, rule.getQuotaRemaining());
      AdjustResponse named = a.await(a.client().adjust(adjust(plain, "llm", 5).toBuilder().setTier("pro").build()));
      assertEquals("pro", named.getTier(), "a request's tier beats the stored plan (here none)");

      String acme = "acme-" + UUID.randomUUID();
      a.await(a.client().setOverride(SetOverrideRequest.newBuilder().setUserId(acme).setAction("calls").setCapacity(50)
          .setRefillPerSecond(0.001).setSeconds(600).build()));
      assertEquals(49, a.await(a.client().check(CheckRequest.newBuilder().setUserId(acme).setAction("calls").build())).getRemaining());
      AdjustResponse overridden = b.await(b.client().adjust(adjust(acme, "calls", -100)));
      assertThat(overridden.getOverridden()).isTrue();
      assertEquals(50, overridden.getRemaining(), "the override's capacity bounds the give-back, not the rule's 10");
      AdjustResponse noOverride = b.await(b.client().adjust(adjust(plain, "calls", 3)));
      assertThat(noOverride.getOverridden()).isFalse();
      assertEquals(7, noOverride.getRemaining());
    }
  }

  @Test
  void theCliSettlesACost(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String target = "127.0.0.1:" + a.port();
      String user = "cli-" + UUID.randomUUID();
      Cli.Run taken = Cli.run("adjust", "--target", target, "--user", user, "--action", "llm", "--delta", "1800", "--adjustment-id", "r1");
      assertEquals(0, taken.exitCode(), taken.err());
      assertEquals("applied rule=llm remaining=8200 quota_remaining=98200", taken.out().strip());
      assertEquals("already applied rule=llm remaining=8200 quota_remaining=98200",
          Cli.run("adjust", "--target", target, "--user", user, "--action", "llm", "--delta", "1800", "--adjustment-id", "r1").out().strip());
      assertEquals("applied rule=llm remaining=8500 quota_remaining=98500",
          Cli.run("adjust", "--target", target, "--user", user, "--action", "llm", "--delta", "-300").out().strip());
    }
  }
}
