package io.sluice.limiter;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.CheckBatchRequest;
import io.sluice.grpc.v1.CheckBatchResponse;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
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
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A check that acquires (CheckRequest.acquire): bucket, quota and a concurrency slot taken in one
 * script call, all or none, exact across instances; in batches, under stored plans and in shadow mode.
 */
@ExtendWith(RedisExtension.class)
class AcquiringChecksTest {

  static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 1 },
          "generate": { "capacity": 1000, "refillPerSecond": 0.001, "quota": { "limit": 1000, "period": "day" },
                        "concurrency": { "maxInFlight": 5, "leaseSeconds": 60 } },
          "tight": { "capacity": 2, "refillPerSecond": 0.001, "concurrency": { "maxInFlight": 10, "leaseSeconds": 60 } },
          "single": { "capacity": 100, "refillPerSecond": 100, "concurrency": { "maxInFlight": 1, "leaseSeconds": 60 } },
          "trial": { "capacity": 100, "refillPerSecond": 100, "shadow": true, "concurrency": { "maxInFlight": 1, "leaseSeconds": 60 } } },
        "tiers": { "gold": { "single": { "concurrency": { "maxInFlight": 3, "leaseSeconds": 60 } } } } }
      """;

  private static CheckRequest acquiring(String user, String action) {
    return CheckRequest.newBuilder().setUserId(user).setAction(action).setAcquire(true).build();
  }

  private static int held(TestRedis redis, String user, String rule) throws Exception {
    return redis.command(Command.ZCARD, RedisKeys.leases(user, rule)).toInteger();
  }

  @Test
  void twoHundredAcquiringChecksOverTwoInstancesTakeBucketQuotaAndSlotTogether(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = "crowd-" + UUID.randomUUID();
      List<Future<CheckResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        calls.add((i % 2 == 0 ? a : b).client().check(acquiring(user, "generate")));
      }
      Set<String> leases = new HashSet<>();
      int refused = 0;
      for (Future<CheckResponse> call : calls) {
        CheckResponse answer = call.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(answer.getDegraded()).isFalse();
        assertEquals(5, answer.getMaxInFlight());
        if (answer.getDecision() == Decision.ALLOW) {
          assertThat(answer.getLeaseId()).startsWith("l1.");
          assertEquals(60_000, answer.getLeaseMs());
          assertThat(answer.getInFlight()).isBetween(1, 5);
          leases.add(answer.getLeaseId());
        } else {
          assertEquals(Decision.DENY, answer.getDecision());
          assertEquals("concurrency", answer.getLimitedBy());
          assertThat(answer.getLeaseId()).isEmpty();
          assertEquals(5, answer.getInFlight());
          assertThat(answer.getRetryAfterMs()).isBetween(1L, 60_000L);
          refused++;
        }
      }
      assertEquals(5, leases.size(), "five slots, over both instances, each its own lease");
      assertEquals(195, refused);
      assertEquals(5, held(redis, user, "generate"));

      // What the refused took: nothing. The next plain check sees five tokens gone from bucket and quota.
      CheckResponse after = a.await(a.client().check(CheckRequest.newBuilder().setUserId(user).setAction("generate").build()));
      assertEquals(Decision.ALLOW, after.getDecision());
      assertEquals(994, after.getRemaining());
      assertEquals(994, after.getQuotaRemaining());
      assertEquals(0, after.getMaxInFlight(), "a check that does not acquire says nothing of leases");

      a.await(b.client().release(leases.iterator().next()));
      CheckResponse freed = a.await(a.client().check(acquiring(user, "generate")));
      assertEquals(Decision.ALLOW, freed.getDecision(), "a released slot is free at once");
      assertEquals(5, freed.getInFlight());
    }
  }

  @Test
  void aRefusalOfTheBucketHoldsNoSlotAndBatchesDecideInOrder(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = "tight-" + UUID.randomUUID();
      assertEquals(Decision.ALLOW, a.await(a.client().check(acquiring(user, "tight"))).getDecision());
      assertEquals(Decision.ALLOW, a.await(a.client().check(acquiring(user, "tight"))).getDecision());
      CheckResponse empty = a.await(a.client().check(acquiring(user, "tight")));
      assertEquals(Decision.DENY, empty.getDecision());
      assertEquals("rate", empty.getLimitedBy());
      assertThat(empty.getLeaseId()).isEmpty();
      assertEquals(2, empty.getInFlight());
      assertEquals(2, held(redis, user, "tight"), "the bucket refused: no slot taken");

      // Two acquiring checks of one slot in one batch: the first holds it, the second meets it.
      String pair = "pair-" + UUID.randomUUID();
      CheckBatchResponse both = a.await(a.client().checkBatch(CheckBatchRequest.newBuilder()
          .addChecks(acquiring(pair, "single")).addChecks(acquiring(pair, "single")).build()));
      assertEquals(Decision.ALLOW, both.getResults(0).getDecision());
      assertThat(both.getResults(0).getLeaseId()).isNotEmpty();
      assertEquals(Decision.DENY, both.getResults(1).getDecision());
      assertEquals("concurrency", both.getResults(1).getLimitedBy());

      // All or nothing: a batch another check of which is refused holds no slot either.
      String whole = "whole-" + UUID.randomUUID();
      a.await(a.client().check(CheckRequest.newBuilder().setUserId(whole).setAction("tight").setCost(2).build()));
      CheckBatchResponse refusedWhole = a.await(a.client().checkBatch(CheckBatchRequest.newBuilder().setAllOrNothing(true)
          .addChecks(acquiring(whole, "generate")).addChecks(CheckRequest.newBuilder().setUserId(whole).setAction("tight")).build()));
      assertEquals(Decision.DENY, refusedWhole.getDecision());
      CheckResponse givenBack = refusedWhole.getResults(0);
      assertThat(givenBack.getGivenBack()).isTrue();
      assertThat(givenBack.getLeaseId()).as("its lease was given back: nobody holds it").isEmpty();
      assertEquals(0, held(redis, whole, "generate"));
      assertEquals(1000, givenBack.getQuotaRemaining());
    }
  }

  @Test
  void storedPlansShadowModeAndBadInput(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String gold = "gold-" + UUID.randomUUID();
      a.await(a.client().setTier(gold, "gold"));
      int granted = 0;
      for (int i = 0; i < 5; i++) {
        CheckResponse answer = a.await(a.client().check(acquiring(gold, "single")));
        assertEquals("gold", answer.getTier());
        granted += answer.getDecision() == Decision.ALLOW ? 1 : 0;
      }
      assertEquals(3, granted, "the stored plan's concurrency decides, read in the same call");
      assertEquals(3, held(redis, gold, "single"));

      String trial = "trial-" + UUID.randomUUID();
      assertThat(a.await(a.client().check(acquiring(trial, "trial"))).getLeaseId()).isNotEmpty();
      CheckResponse shadowed = a.await(a.client().check(acquiring(trial, "trial")));
      assertEquals(Decision.ALLOW, shadowed.getDecision(), "a rule in shadow never refuses");
      assertThat(shadowed.getShadow()).isTrue();
      assertEquals("concurrency", shadowed.getLimitedBy());
      assertThat(shadowed.getLeaseId()).as("and holds no slot for what it let through").isEmpty();
      assertEquals(1, held(redis, trial, "trial"));

      String nobody = "nobody-" + UUID.randomUUID();
      CallFailedException noLimit = assertThrows(CallFailedException.class,
          () -> a.await(a.client().check(acquiring(nobody, "search"))));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, noLimit.status());
      assertThat(noLimit.getMessage()).contains("acquire needs a concurrency limit, and rule 'default' (of action 'search') has none");
      CallFailedException inBatch = assertThrows(CallFailedException.class, () -> a.await(a.client().checkBatch(
          CheckBatchRequest.newBuilder().addChecks(acquiring(nobody, "single")).addChecks(acquiring(nobody, "search")).build())));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, inBatch.status());
      assertThat(inBatch.getMessage()).contains("checks[1].acquire needs a concurrency limit");
      assertThat(redis.keys()).as("a bad check changes nothing").noneMatch(key -> key.contains(nobody));
    }
  }

  @Test
  void theCliChecksAndAcquiresInOneCall(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String target = "127.0.0.1:" + a.port();
      String user = "cli-" + UUID.randomUUID();
      Cli.Run granted = Cli.run("check", "--target", target, "--user", user, "--action", "single", "--acquire");
      assertEquals(0, granted.exitCode(), granted.err());
      assertThat(granted.out()).startsWith("ALLOW rule=single").contains(" lease_id=l1.").contains("in_flight=1/1");
      String leaseId = granted.out().replaceAll("(?s).*lease_id=(\\S+).*", "$1");
      assertThat(Cli.run("check", "--target", target, "--user", user, "--action", "single", "--acquire").out())
          .startsWith("DENY rule=single").contains("lease_id= ").contains("limited_by=concurrency");
      assertThat(Cli.run("release", "--target", target, "--lease-id", leaseId).out().strip()).isEqualTo("released");
    }
  }
}
