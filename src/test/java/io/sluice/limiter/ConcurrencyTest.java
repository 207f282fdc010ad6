package io.sluice.limiter;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.AcquireRequest;
import io.sluice.grpc.v1.AcquireResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.redis.RedisKeys;
import io.sluice.support.Await;
import io.sluice.support.Cli;
import io.sluice.support.PausableProxy;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Concurrency limits ("concurrency" of a rule): leases acquired and released, exact across
 * instances, a lease not released ending at its expiry; bans, shadow mode and failure modes as for checks.
 */
@ExtendWith(RedisExtension.class)
class ConcurrencyTest {

  static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 1 },
          "jobs": { "capacity": 100, "refillPerSecond": 100, "concurrency": { "maxInFlight": 3, "leaseSeconds": 60 } },
          "brief": { "capacity": 100, "refillPerSecond": 100, "concurrency": { "maxInFlight": 1, "leaseSeconds": 1 } },
          "trial": { "capacity": 100, "refillPerSecond": 100, "shadow": true, "concurrency": { "maxInFlight": 1, "leaseSeconds": 60 } } },
        "tiers": { "gold": { "jobs": { "concurrency": { "maxInFlight": 5, "leaseSeconds": 60 } } } } }
      """;

  private static AcquireRequest acquire(String user, String action) {
    return AcquireRequest.newBuilder().setUserId(user).setAction(action).build();
  }

  @Test
  void twoHundredCallersOverTwoInstancesNeverHoldMoreThanMaxInFlight(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = "crowd-" + UUID.randomUUID();
      List<Future<AcquireResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        calls.add((i % 2 == 0 ? a : b).client().acquire(acquire(user, "jobs")));
      }
      List<AcquireResponse> granted = new ArrayList<>();
      for (Future<AcquireResponse> call : calls) {
        AcquireResponse answer = call.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(answer.getDegraded()).isFalse();
        if (answer.getDecision() == Decision.ALLOW) {
          granted.add(answer);
          assertThat(answer.getLeaseId()).isNotEmpty();
          assertEquals(60_000, answer.getLeaseMs());
        } else {
          assertEquals(Decision.DENY, answer.getDecision());
          assertEquals("concurrency", answer.getLimitedBy());
          assertThat(answer.getRetryAfterMs()).isBetween(1L, 60_000L);
          assertEquals(3, answer.getInFlight());
        }
      }
      assertEquals(3, granted.size(), "three slots, over both instances");
      assertEquals(3, redis.command(Command.ZCARD, RedisKeys.leases(user, "jobs")).toInteger());

      assertThat(b.await(b.client().release(granted.get(0).getLeaseId())).getReleased()).isTrue();
      assertThat(a.await(a.client().release(granted.get(0).getLeaseId())).getReleased()).as("released once only").isFalse();
      String held = granted.get(1).getLeaseId();
      assertThat(held).matches("l1\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[0-9a-f]{32}");
      String guessed = held.substring(0, held.lastIndexOf('.') + 1) + "0".repeat(32);
      assertThat(a.await(a.client().release(guessed)).getReleased()).as("an id naming the user without the secret ends nothing").isFalse();
      assertEquals(2, redis.command(Command.ZCARD, RedisKeys.leases(user, "jobs")).toInteger());
      assertThat(redis.command(Command.ZRANGE, RedisKeys.leases(user, "jobs"), 0, -1).toString())
          .as("the set holds the secrets only").doesNotContain(user);
      AcquireResponse again = a.await(a.client().acquire(acquire(user, "jobs")));
      assertEquals(Decision.ALLOW, again.getDecision(), "a released slot is free at once");
      assertEquals(3, again.getInFlight());

      // Acquire and release as backends do, 200 at once: every answer counts at most three held.
      String churn = "churn-" + UUID.randomUUID();
      List<Future<Integer>> works = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        SluiceFixture instance = i % 2 == 0 ? a : b;
        works.add(instance.client().acquire(acquire(churn, "jobs")).compose(lease -> lease.getDecision() != Decision.ALLOW
            ? Future.succeededFuture(0)
            : instance.client().release(lease.getLeaseId()).map(released -> {
              assertThat(lease.getInFlight()).isBetween(1, 3);
              return released.getReleased() ? 1 : 0;
            })));
      }
      int releasedTotal = 0;
      for (Future<Integer> work : works) {
        releasedTotal += work.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      }
      assertThat(releasedTotal).as("some got a slot and gave it back").isGreaterThanOrEqualTo(3);
      assertEquals(0, redis.command(Command.EXISTS, RedisKeys.leases(churn, "jobs")).toInteger(), "every slot given back");

      String gold = "gold-" + UUID.randomUUID();
      int goldGranted = 0;
      for (int i = 0; i < 7; i++) {
        goldGranted += a.await(a.client().acquire(acquire(gold, "jobs").toBuilder().setTier("gold").build())).getDecision() == Decision.ALLOW
            ? 1 : 0;
      }
      assertEquals(5, goldGranted, "a plan may change the limit");
    }
  }

  @Test
  void thePlanStoredForTheUserDecidesReadInTheSameCall(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      String gold = "stored-gold-" + UUID.randomUUID();
      a.await(a.client().setTier(gold, "gold"));
      int granted = 0;
      for (int i = 0; i < 7; i++) {
        SluiceFixture instance = i % 2 == 0 ? a : b;
        AcquireResponse answer = instance.await(instance.client().acquire(acquire(gold, "jobs")));
        assertEquals("gold", answer.getTier(), "the answer names the stored plan");
        assertEquals(5, answer.getMaxInFlight());
        granted += answer.getDecision() == Decision.ALLOW ? 1 : 0;
      }
      assertEquals(5, granted, "gold's five slots, not the rule's three");

      String plain = "stored-none-" + UUID.randomUUID();
      AcquireResponse none = a.await(a.client().acquire(acquire(plain, "jobs")));
      assertEquals("", none.getTier());
      assertEquals(3, none.getMaxInFlight());
      Cli.Run printed = Cli.run("acquire", "--target", "127.0.0.1:" + a.port(), "--user", gold, "--action", "jobs");
      assertThat(printed.out()).startsWith("DENY rule=jobs tier=gold in_flight=5/5 limited_by=concurrency");
    }
  }

  @Test
  void aLeaseWhoseGrantWasNotHeardIsReleasedOnceRedisAnswersAgain(TestRedis redis) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(redis.dataPorts().size() == 1,
        "one Redis behind the proxy: a Cluster's client finds its nodes past it (the path is the same)");
    try (PausableProxy proxy = PausableProxy.to(redis.port());
         SluiceFixture a = SluiceFixture.start(proxy.uri(), LIMITS)) {
      String user = "unheard-" + UUID.randomUUID();
      String key = RedisKeys.leases(user, "jobs");
      // Until a grant is lost on its way back: another call's reply may drop the connection first, and then nothing ran.
      AcquireResponse lost = null;
      for (int attempt = 0; attempt < 20 && redis.command(Command.ZCARD, key).toInteger() == 0; attempt++) {
        proxy.loseReplies(true);
        try {
          lost = a.await(a.client().acquire(acquire(user, "jobs")));
        } finally {
          proxy.loseReplies(false);
        }
      }
      assertEquals(1, redis.command(Command.ZCARD, key).toInteger(), "the grant ran in Redis");
      assertThat(lost.getDegraded()).as("and its answer was lost").isTrue();
      assertThat(lost.getLeaseId()).isEmpty();

      // The next lease calls Redis answers take the unheard one along: its slot does not wait a minute for its expiry.
      releasedByLaterLeaseCalls(a, redis, key, "the unheard lease to be released");
    }
  }

  @Test
  void aGrantRunAfterItsCallersDeadlineIsReleasedEvenWhenItsReplyIsLost(TestRedis redis) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(redis.dataPorts().size() == 1,
        "one Redis behind the proxy: a Cluster's client finds its nodes past it (the path is the same)");
    // Redis is given long enough that only the callers' own deadlines end their calls.
    try (PausableProxy proxy = PausableProxy.to(redis.port());
         SluiceFixture a = SluiceFixture.start(proxy.uri(), LIMITS, new JsonObject().put("redisTimeoutMs", 20_000))) {
      String user = "late-" + UUID.randomUUID();
      String key = RedisKeys.leases(user, "jobs");
      proxy.pause();
      CallFailedException acquireLate;
      CallFailedException checkLate;
      try {
        acquireLate = assertThrows(CallFailedException.class, () -> a.await(a.client().acquire(acquire(user, "jobs"), 300)));
        checkLate = assertThrows(CallFailedException.class, () -> a.await(a.client().check(
            io.sluice.grpc.v1.CheckRequest.newBuilder().setUserId(user).setAction("jobs").setCost(1).setAcquire(true).build(), 300)));
        // Both calls wait in the proxy, written: Redis runs them once it lets them through, and their replies are lost.
        proxy.loseReplies(true);
      } finally {
        proxy.resume();
      }
      assertEquals(GrpcStatus.DEADLINE_EXCEEDED, acquireLate.status());
      assertEquals(GrpcStatus.DEADLINE_EXCEEDED, checkLate.status());
      Await.until("both grants to run in Redis", Duration.ofSeconds(10), () -> redis.command(Command.ZCARD, key).toInteger() == 2);
      proxy.loseReplies(false);

      releasedByLaterLeaseCalls(a, redis, key, "the two unheard leases to be released");
    }
  }

  @Test
  void aLeaseGrantedToACallerWhoLeftIsGivenBackAtOnce(TestRedis redis) throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(redis.dataPorts().size() == 1,
        "one Redis behind the proxy: a Cluster's client finds its nodes past it (the path is the same)");
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try (PausableProxy proxy = PausableProxy.to(redis.port());
         SluiceFixture a = SluiceFixture.start(proxy.uri(), LIMITS, new JsonObject().put("redisTimeoutMs", 20_000))) {
      String user = "left-" + UUID.randomUUID();
      String key = RedisKeys.leases(user, "jobs");
      io.micrometer.core.instrument.MeterRegistry meters = a.sluice().metrics().registry();
      // No deadline of its own: the caller just leaves (resets the stream) while Redis is slow to answer.
      io.vertx.grpc.client.GrpcClient grpc = io.vertx.grpc.client.GrpcClient.client(vertx);
      proxy.pause();
      long repliesBefore;
      try {
        var call = grpc.request(io.vertx.core.net.SocketAddress.inetSocketAddress(a.port(), "127.0.0.1"),
            io.sluice.grpc.v1.RateLimiterGrpcClient.Acquire).await(10, TimeUnit.SECONDS);
        call.end(acquire(user, "jobs")).await(10, TimeUnit.SECONDS);
        Await.until("the acquire to wait on Redis", Duration.ofSeconds(10),
            () -> meters.get(io.sluice.telemetry.Metrics.CHECKS_IN_FLIGHT).gauge().value() >= 1);
        call.cancel();
        Await.until("the instance to hear its caller left", Duration.ofSeconds(10),
            () -> meters.find(io.sluice.telemetry.Metrics.ABANDONED).counters().stream().mapToDouble(c -> c.count()).sum() >= 1);
        repliesBefore = meters.get(io.sluice.telemetry.Metrics.REDIS_CALL_DURATION).timer().count();
      } finally {
        proxy.resume();
      }
      Await.until("Redis to grant the lease nobody will hear of", Duration.ofSeconds(10),
          () -> meters.get(io.sluice.telemetry.Metrics.REDIS_CALL_DURATION).timer().count() > repliesBefore);
      Await.until("the lease to be given back, not held for its minute", Duration.ofSeconds(5),
          () -> redis.command(Command.EXISTS, key).toInteger() == 0);
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** Another user's leases, taken and given back until the unheard ones under {@code key} are released with them. */
  private static void releasedByLaterLeaseCalls(SluiceFixture a, TestRedis redis, String key, String what) {
    String other = "other-" + UUID.randomUUID();
    Await.until(what, Duration.ofSeconds(15), () -> {
      AcquireResponse next = a.await(a.client().acquire(acquire(other, "jobs")));
      if (!next.getLeaseId().isEmpty()) {
        a.await(a.client().release(next.getLeaseId()));
      }
      return redis.command(Command.EXISTS, key).toInteger() == 0;
    });
  }

  @Test
  void aLeaseNotReleasedEndsAtItsExpiry(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String crashed = "crashed-" + UUID.randomUUID();
      assertEquals(Decision.ALLOW, a.await(a.client().acquire(acquire(crashed, "brief"))).getDecision());
      AcquireResponse held = a.await(a.client().acquire(acquire(crashed, "brief")));
      assertEquals(Decision.DENY, held.getDecision());
      assertThat(held.getRetryAfterMs()).isBetween(1L, 1000L);
      Await.until("the lease ends", Duration.ofSeconds(10),
          () -> a.await(a.client().acquire(acquire(crashed, "brief"))).getDecision() == Decision.ALLOW);
    }
  }

  @Test
  void bansShadowModeAndBadInputAsForChecks(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String banned = "banned-" + UUID.randomUUID();
      a.await(a.client().ban(banned, "", 60, "test"));
      AcquireResponse ban = a.await(a.client().acquire(acquire(banned, "jobs")));
      assertEquals(Decision.BAN, ban.getDecision());
      assertThat(ban.getRetryAfterMs()).isBetween(1L, 60_000L);

      String trial = "trial-" + UUID.randomUUID();
      assertEquals(Decision.ALLOW, a.await(a.client().acquire(acquire(trial, "trial"))).getDecision());
      AcquireResponse shadowed = a.await(a.client().acquire(acquire(trial, "trial")));
      assertEquals(Decision.ALLOW, shadowed.getDecision(), "a rule in shadow never refuses");
      assertThat(shadowed.getShadow()).isTrue();
      assertThat(shadowed.getLeaseId()).as("and holds no slot for what it let through").isEmpty();
      assertEquals(1, redis.command(Command.ZCARD, RedisKeys.leases(trial, "trial")).toInteger());

      CallFailedException noLimit = assertThrows(CallFailedException.class, () -> a.await(a.client().acquire(acquire("u", "search"))));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, noLimit.status());
      assertThat(noLimit.getMessage()).contains("rule 'default' (of action 'search') has no concurrency limit");
      CallFailedException badLease = assertThrows(CallFailedException.class, () -> a.await(a.client().release("my-lease")));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, badLease.status());
      assertThat(badLease.getMessage()).contains("lease_id is not a lease Sluice granted");
      String granted = Leases.leaseId("u", "jobs");
      for (String forged : List.of(granted + "0", granted.replace("l1.dQ.", "l1.dQ==."), granted.toUpperCase())) {
        assertEquals(GrpcStatus.INVALID_ARGUMENT, assertThrows(CallFailedException.class, () -> a.await(a.client().release(forged))).status(),
            forged);
      }
      CallFailedException badTier = assertThrows(CallFailedException.class, () -> a.await(a.client().acquire(acquire("u", "jobs")
          .toBuilder().setTier("platinum").build())));
      assertThat(badTier.getMessage()).contains("tier 'platinum' is not a tier of the limits in force");
      assertThat(redis.keys()).noneMatch(key -> key.startsWith("leases:{u}"));
    }
  }

  @Test
  void withoutRedisTheFailureModeAnswersAndHoldsNothing() throws Exception {
    try (SluiceFixture open = SluiceFixture.cutOff(LIMITS, new JsonObject().put("failureMode", "local"))) {
      AcquireResponse unheld = open.await(open.client().acquire(acquire("u", "jobs")));
      assertEquals(Decision.ALLOW, unheld.getDecision());
      assertThat(unheld.getDegraded()).isTrue();
      assertThat(unheld.getLeaseId()).isEmpty();
      assertThat(open.await(open.client().release(Leases.leaseId("u", "jobs"))).getDegraded()).isTrue();
    }
    try (SluiceFixture closed = SluiceFixture.cutOff(LIMITS, new JsonObject().put("failureMode", "closed"))) {
      AcquireResponse refused = closed.await(closed.client().acquire(acquire("u", "jobs")));
      assertEquals(Decision.DENY, refused.getDecision());
      assertThat(refused.getDegraded()).isTrue();
    }
  }

  @Test
  void theCliAcquiresAndReleases(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String target = "127.0.0.1:" + a.port();
      String user = "cli-" + UUID.randomUUID();
      Cli.Run granted = Cli.run("acquire", "--target", target, "--user", user, "--action", "brief");
      assertEquals(0, granted.exitCode(), granted.err());
      assertThat(granted.out()).startsWith("ALLOW rule=brief lease_id=l1.").contains("lease_ms=1000 in_flight=1/1");
      String leaseId = granted.out().replaceAll("(?s).*lease_id=(\\S+).*", "$1");
      assertThat(Cli.run("acquire", "--target", target, "--user", user, "--action", "brief").out())
          .startsWith("DENY rule=brief in_flight=1/1 limited_by=concurrency retry_after_ms=");
      assertThat(Cli.run("release", "--target", target, "--lease-id", leaseId).out().strip()).isEqualTo("released");
      assertThat(Cli.run("release", "--target", target, "--lease-id", leaseId).out()).contains("not held");
    }
  }
}
