package io.sluice.limiter;

import io.micrometer.core.instrument.Counter;
import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.redis.RedisKeys;
import io.sluice.support.Await;
import io.sluice.support.Http;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.support.Traffic;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.common.GrpcStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Redis that is really unavailable, in each way it can be: unreachable, hung (SIGSTOP), killed
 * and restarted empty. Checks are answered in time, by the failure mode and marked degraded, only
 * while Redis is away; the breaker makes those answers immediate; and what Redis did for a check
 * whose answer came too late is not lost.
 */
@ExtendWith(RedisExtension.class)
class RedisOutageTest {

  private static final String MODES = """
      { "rules": {
          "default":     { "capacity": 2, "refillPerSecond": 0.001 },
          "open_rule":   { "capacity": 1, "refillPerSecond": 0.001, "failureMode": "open" },
          "closed_rule": { "capacity": 1, "refillPerSecond": 0.001, "failureMode": "closed" },
          "local_rule":  { "capacity": 3, "refillPerSecond": 0.001, "failureMode": "local" } } }
      """;

  private Vertx vertx;

  @BeforeEach
  void clientVertx() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void closeClients() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void eachRuleAnswersByItsOwnFailureModeAndTheRestByTheSetting() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), MODES, new JsonObject().put("failureMode", "closed"))) {
      redis.kill(redis.port());
      for (int i = 0; i < 3; i++) {
        assertDegraded(Decision.ALLOW, sluice.check("u", "open_rule"));
      }
      CheckResponse closed = sluice.check("u", "closed_rule");
      assertDegraded(Decision.DENY, closed);
      assertThat(closed.getRetryAfterMs()).as("when the breaker probes next").isBetween(1L, 500L);
      for (int i = 0; i < 3; i++) {
        assertDegraded(Decision.ALLOW, sluice.check("u", "local_rule"));
      }
      assertDegraded(Decision.DENY, sluice.check("u", "local_rule"));
      assertDegraded(Decision.DENY, sluice.check("u", "anything-else"));

      String scrape = sluice.sluice().metrics().scrape();
      assertThat(scrape).contains("sluice_degraded_decisions_total{mode=\"open\"");
      assertThat(scrape).contains("sluice_degraded_decisions_total{mode=\"closed\"");
      assertThat(scrape).contains("sluice_degraded_decisions_total{mode=\"local\"");
      assertThat(scrape).contains("sluice_decisions_total{outcome=\"degraded_allow\",rule=\"open_rule\"}");
    }
  }

  @Test
  void theSettingAppliesToRulesWithoutAFailureModeOfTheirOwn() throws Exception {
    // A Redis each: on one Redis the two would count each other, and local would halve its share.
    try (TestRedis redisOfOpen = TestRedis.startOwn();
         TestRedis redisOfLocal = TestRedis.startOwn();
         SluiceFixture open = SluiceFixture.start(redisOfOpen.uri(), MODES, new JsonObject().put("failureMode", "open"));
         SluiceFixture local = SluiceFixture.start(redisOfLocal.uri(), MODES)) {
      redisOfOpen.kill(redisOfOpen.port());
      redisOfLocal.kill(redisOfLocal.port());
      for (int i = 0; i < 3; i++) {
        assertDegraded(Decision.ALLOW, open.check("u", "anything"));
      }
      assertDegraded(Decision.ALLOW, local.check("u", "anything"));
      assertDegraded(Decision.ALLOW, local.check("u", "anything"));
      assertDegraded(Decision.DENY, local.check("u", "anything"), "local is the default: the default rule's 2 tokens, then no more");
    }
  }

  @Test
  void aHungRedisIsCutOffByTheBreakerAndEveryInstanceAdmitsAtMostItsShare() throws Exception {
    String limits = "{ \"rules\": { \"default\": { \"capacity\": 20, \"refillPerSecond\": 10 } } }";
    JsonObject settings = new JsonObject().put("redisTimeoutMs", 250).put("heartbeatMs", 200);
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture a = SluiceFixture.start(redis.uri(), limits, settings);
         SluiceFixture b = SluiceFixture.start(redis.uri(), limits, settings)) {
      Await.until("both instances see two live instances", Duration.ofSeconds(5),
          () -> a.sluice().fleetSize() == 2 && b.sluice().fleetSize() == 2);
      Outage outage = new Outage();
      // Three seconds of normal traffic first: the JIT's work on a fresh JVM is not what is measured here.
      vertx.setTimer(3000, t -> {
        redis.pause();
        outage.stoppedNanos.set(System.nanoTime());
      });
      vertx.setTimer(6000, t -> {
        outage.scrapesAtResume = List.of(a.sluice().metrics().scrape(), b.sluice().metrics().scrape());
        redis.resume();
        outage.resumedNanos.set(System.nanoTime());
      });
      Thread breakerWatch = watchBreakers(outage, a, b);
      vertx.setPeriodic(10, watch -> {
        if (outage.openedNanos.get() > 0 && System.nanoTime() - outage.openedNanos.get() > 200_000_000L) {
          outage.scrapesOnceOpen = List.of(a.sluice().metrics().scrape(), b.sluice().metrics().scrape());
          vertx.cancelTimer(watch);
        }
      });

      List<Traffic.Answer> answers = Traffic.run(vertx, List.of(client(a), client(b)),
          Traffic.Plan.steady(10, 8000, 10).withTimeoutMs(1000),
          caller -> CheckRequest.newBuilder().setUserId(outage.user).setAction("api").build());
      breakerWatch.join();

      String seen = outage.describe(answers);
      assertEquals(0, Traffic.count(answers, answer -> answer.error() != null), "every check answered, none failed: " + seen);
      assertThat(Traffic.maxLatencyMs(answers, answer -> true)).as("all within the 1 s deadline: " + seen).isLessThan(1000);
      assertThat(outage.openedNanos.get()).as("the breakers opened: " + seen).isPositive();
      // From a moment after both opened: the checks that were in flight when they opened waited for Redis, as they should.
      long settled = outage.openedNanos.get() + 200_000_000L;
      List<Traffic.Answer> whileOpen = answers.stream()
          .filter(answer -> answer.sentNanos() > settled && answer.answeredNanos() < outage.resumedNanos.get())
          .toList();
      assertThat(whileOpen).as(seen).hasSizeGreaterThan(500);
      String latencies = "as the callers saw it: p50 %.2f p90 %.2f p99 %.2f max %.2f ms of %d answers".formatted(
          percentile(whileOpen, 0.5), percentile(whileOpen, 0.9), percentile(whileOpen, 0.99), percentile(whileOpen, 1.0), whileOpen.size());
      for (int i = 0; i < 2; i++) {
        // The instance's own clock, from request to answer: what Sluice spends, apart from two shared cores' scheduling.
        double p99 = Http.quantileBetween(outage.scrapesOnceOpen.get(i), outage.scrapesAtResume.get(i), "sluice_check_duration_seconds", 0.99);
        assertThat(p99).as("instance %d's p99 once its breaker is open, %s".formatted(i, latencies)).isLessThanOrEqualTo(0.005);
      }
      assertThat(percentile(whileOpen, 0.5)).as(latencies).isLessThan(5.0);
      for (int instance = 0; instance < 2; instance++) {
        int i = instance;
        long admitted = Traffic.count(answers, answer -> answer.instance() == i && answer.degraded() && answer.allowed());
        double outageSeconds = (outage.resumedNanos.get() - outage.stoppedNanos.get()) / 1e9 + 1;
        // Its share: half of the capacity and half of the refill, over the outage.
        assertThat(admitted).as("instance " + i + " admitted locally: " + seen).isLessThanOrEqualTo(10 + (long) (5 * outageSeconds) + 1);
      }
      long resumed = outage.resumedNanos.get();
      assertThat(Traffic.count(answers, answer -> answer.sentNanos() > resumed + 1_000_000_000L && answer.degraded()))
          .as("normal decisions within 1 s after redis resumed: " + seen).isZero();
    }
  }

  @Test
  void aRedisRestartedEmptyGetsItsScriptsBackBeforeChecksAndNoCheckFails() throws Exception {
    String limits = "{ \"rules\": { \"default\": { \"capacity\": 1000000, \"refillPerSecond\": 1000 } } }";
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), limits, new JsonObject().put("redisTimeoutMs", 250))) {
      AtomicLong restartedNanos = new AtomicLong(Long.MAX_VALUE);
      vertx.setTimer(1000, t -> vertx.executeBlocking(() -> {
        redis.killAndRestartEmpty();
        restartedNanos.set(System.nanoTime());
        return null;
      }));

      List<Traffic.Answer> answers = Traffic.run(vertx, List.of(client(sluice)), Traffic.Plan.steady(10, 4000, 5).withTimeoutMs(1000),
          caller -> CheckRequest.newBuilder().setUserId("restart-" + caller).setAction("api").build());

      String seen = "answers=%d degraded=%d errors=%d".formatted(answers.size(), Traffic.count(answers, Traffic.Answer::degraded),
          Traffic.count(answers, answer -> answer.error() != null));
      assertEquals(0, Traffic.count(answers, answer -> answer.error() != null), "no check failed, NOSCRIPT never surfaced: " + seen);
      assertThat(Traffic.count(answers, Traffic.Answer::degraded)).as("redis really was gone for a while: " + seen).isPositive();
      assertThat(Traffic.count(answers, answer -> answer.sentNanos() > restartedNanos.get() + 1_000_000_000L && answer.degraded()))
          .as("normal decisions within 1 s after the restart: " + seen).isZero();
      assertThat(sluice.sluice().metrics().scrape()).doesNotContain("sluice_redis_errors_total{kind=\"script\"} 1");
    }
  }

  @Test
  void aBanMadeByACheckWhoseAnswerCameTooLateIsStillCachedCountedAndEnforced() throws Exception {
    String limits = """
        { "rules": { "default": { "capacity": 10, "refillPerSecond": 1 },
                     "login": { "capacity": 1, "refillPerSecond": 0.001,
                                "abuse": { "maxViolations": 2, "windowSeconds": 60, "banSeconds": 60 } } } }
        """;
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), limits, new JsonObject().put("redisTimeoutMs", 200)).awaitSubscribed()) {
      String user = "late-" + UUID.randomUUID();
      assertEquals(Decision.ALLOW, sluice.check(user, "login").getDecision());
      assertEquals(Decision.DENY, sluice.check(user, "login").getDecision(), "the first violation");

      redis.pause();
      CheckResponse late = sluice.check(user, "login");
      redis.resume();

      assertTrue(late.getDegraded(), "answered by the failure mode while redis hung");
      assertEquals("timeout", late.getDegradedReason());
      Await.until("the late reply's ban to be cached", Duration.ofSeconds(5), () -> sluice.sluice().banCache().size() == 1);
      Counter bans = sluice.sluice().metrics().registry().find(Metrics.BANS_CREATED).tag("rule", "login").counter();
      assertThat(bans).isNotNull();
      assertEquals(1, bans.count(), "the ban is counted like any other");
      long scriptCalls = redis.scriptCalls();
      assertEquals(Decision.BAN, sluice.check(user, "login").getDecision());
      assertEquals(scriptCalls, redis.scriptCalls(), "answered from the cache");
    }
  }

  @Test
  void aSequentialCallerPaysOneTimeoutThenTheBreakerIsOpenAndNothingAnsweredMeanwhileReachesRedisLater() throws Exception {
    String limits = "{ \"rules\": { \"default\": { \"capacity\": 1000, \"refillPerSecond\": 0.001 } } }";
    JsonObject settings = new JsonObject().put("redisTimeoutMs", 100).put("breakerFailures", 3).put("breakerResetMs", 60_000);
    try (TestRedis redis = TestRedis.startOwn(); SluiceFixture sluice = SluiceFixture.start(redis.uri(), limits, settings)) {
      String user = "unsent-" + UUID.randomUUID();
      sluice.check(user, "api");
      long callsBefore = redis.calls("evalsha");

      redis.pause();
      // Written, and nothing back while the event loop was free to read: that is evidence enough.
      assertEquals("timeout", sluice.check(user, "api").getDegradedReason(), "sent, then timed out");
      assertEquals("open", sluice.sluice().health().toJson().getString("breaker"), "one stall opens the breaker");
      for (int i = 0; i < 20; i++) {
        assertEquals("breaker_open", sluice.check(user, "api").getDegradedReason(), "answered without redis, without waiting");
      }
      redis.resume();

      Await.until("redis to run what it was sent", Duration.ofSeconds(5), () -> redis.calls("evalsha") - callsBefore >= 1);
      assertEquals(1, redis.calls("evalsha") - callsBefore, "only the command that was written reached redis");
      assertEquals("998", redis.command(io.vertx.redis.client.Command.HGET, RedisKeys.bucket(user, "default"), "tokens")
          .toString().substring(0, 3), "2 tokens taken in all: the first check and the late one");
    }
  }

  @Test
  void aBanHoldsThroughTenSecondsOfAHungRedisAndTheSubscriptionLossIsNoticedMeanwhile() throws Exception {
    String limits = "{ \"rules\": { \"default\": { \"capacity\": 10, \"refillPerSecond\": 1 } } }";
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), limits, new JsonObject().put("redisTimeoutMs", 250)).awaitSubscribed()) {
      String user = "banned-" + UUID.randomUUID();
      SluiceClient admin = sluice.client();
      sluice.await(admin.ban(user, "", 600, "abuse"));
      assertEquals(Decision.BAN, sluice.check(user, "api").getDecision(), "the ban, from redis, now cached");

      redis.pause();
      long stopped = System.nanoTime();
      try {
        while (System.nanoTime() - stopped < TimeUnit.SECONDS.toNanos(10)) {
          CheckResponse answer = sluice.check(user, "api");
          assertEquals(Decision.BAN, answer.getDecision(), "still banned %.1f s into the outage".formatted((System.nanoTime() - stopped) / 1e9));
          TimeUnit.MILLISECONDS.sleep(100);
        }
        assertThat(sluice.sluice().banCache().unbansArrive()).as("the lost subscription is noticed").isFalse();
      } finally {
        redis.resume();
      }
      Await.until("the subscription to come back", Duration.ofSeconds(10), () -> sluice.sluice().banCache().unbansArrive());
      assertEquals(Decision.BAN, sluice.check(user, "api").getDecision(), "a ban redis still holds stays cached");
    }
  }

  @Test
  void anUnbanMadeWhileAnInstanceWasCutOffAppliesThereWithinASecondOfItsReturn() throws Exception {
    String limits = "{ \"rules\": { \"default\": { \"capacity\": 10, \"refillPerSecond\": 1 } } }";
    JsonObject settings = new JsonObject().put("redisTimeoutMs", 250);
    try (TestRedis redis = TestRedis.startOwn();
         io.sluice.support.PausableProxy proxy = io.sluice.support.PausableProxy.to(redis.port());
         SluiceFixture cutOff = SluiceFixture.start(proxy.uri(), limits, settings).awaitSubscribed();
         SluiceFixture other = SluiceFixture.start(redis.uri(), limits, settings).awaitSubscribed()) {
      String user = "pardoned-" + UUID.randomUUID();
      SluiceClient admin = other.client();
      other.await(admin.ban(user, "", 600, "abuse"));
      assertEquals(Decision.BAN, cutOff.check(user, "api").getDecision(), "the ban, from redis, cached where it is cut off next");

      proxy.pause();
      Await.until("the cut-off instance to notice it hears no unban notices", Duration.ofSeconds(10),
          () -> !cutOff.sluice().banCache().unbansArrive());
      other.await(admin.unban(user, ""));
      assertEquals(Decision.ALLOW, other.check(user, "api").getDecision(), "lifted where the notice arrived");
      assertEquals(Decision.BAN, cutOff.check(user, "api").getDecision(), "the cached ban holds while redis cannot be asked");

      proxy.resume();
      Await.until("the cut-off instance to be back", Duration.ofSeconds(10), () -> cutOff.sluice().banCache().unbansArrive());
      long back = System.nanoTime();
      Await.until("the unban to apply there", Duration.ofSeconds(5), () -> cutOff.check(user, "api").getDecision() == Decision.ALLOW);
      assertThat((System.nanoTime() - back) / 1e9).as("seconds from its return to the unban applying").isLessThan(1.0);
    }
  }

  @Test
  void theCallersDeadlineIsAnsweredBeforeItPassesAndNeverByTheFailureMode() throws Exception {
    try (TestRedis redis = TestRedis.startOwn(); SluiceFixture sluice = SluiceFixture.start(redis.uri(), MODES)) {
      SluiceClient client = client(sluice);
      CheckRequest request = CheckRequest.newBuilder().setUserId("hurried").setAction("open_rule").build();
      // The connection is up before the clock starts: the deadline is measured from when the server gets the call.
      client.check(request).await(5, TimeUnit.SECONDS);
      redis.pause();
      long sent = System.nanoTime();
      Throwable failure = client.check(request, 300).toCompletionStage().toCompletableFuture()
          .handle((response, error) -> error).get(5, TimeUnit.SECONDS);
      double ms = (System.nanoTime() - sent) / 1e6;
      redis.resume();

      assertThat(failure).as("a short deadline buys no ALLOW, even under an open failure mode")
          .isInstanceOf(SluiceClient.CallFailedException.class);
      assertEquals(GrpcStatus.DEADLINE_EXCEEDED, ((SluiceClient.CallFailedException) failure).status());
      assertThat(failure.getMessage()).as("sluice answered, the client did not give up").contains("before redis answered");
      assertThat(ms).as("answered before the 300 ms deadline").isLessThan(300);
      assertEquals("closed", sluice.sluice().health().toJson().getString("breaker"), "a caller's deadline is no redis failure");
    }
  }

  @Test
  void aRedisFaultIsAnErrorWithAnIdNeverADegradedAllow(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), MODES, new JsonObject().put("failureMode", "open"))) {
      String user = "fault-" + UUID.randomUUID();
      // Something else wrote a string where the bucket hash lives.
      redis.command(io.vertx.redis.client.Command.SET, RedisKeys.bucket(user, "open_rule"), "not a bucket");

      SluiceClient.CallFailedException failure = org.junit.jupiter.api.Assertions.assertThrows(SluiceClient.CallFailedException.class,
          () -> sluice.check(user, "open_rule"));

      assertEquals(GrpcStatus.INTERNAL, failure.status());
      assertThat(failure.getMessage()).containsPattern("error id [0-9a-f]{8}").doesNotContain("WRONGTYPE");
      assertEquals(1, Http.metric(sluice.sluice().metrics().scrape(), "sluice_redis_errors_total", "kind=\"wrongtype\""));
      assertEquals(0, Http.metric(sluice.sluice().metrics().scrape(), "sluice_degraded_decisions_total"));
    }
  }

  @Test
  void aNodeThatBecameAReplicaIsAFailoverAnsweredByTheFailureModeNotAFault() throws Exception {
    try (TestRedis master = TestRedis.startOwn();
         TestRedis replica = TestRedis.startOwn("--replicaof", "127.0.0.1", String.valueOf(master.port()));
         SluiceFixture sluice = SluiceFixture.start(replica.uri(), MODES, new JsonObject().put("failureMode", "closed"))) {
      CheckResponse response = sluice.check("demoted", "open_rule");

      assertTrue(response.getDegraded(), "a replica cannot take the writes of a check");
      assertEquals("failover", response.getDegradedReason());
      assertEquals(Decision.ALLOW, response.getDecision(), "the rule's own failure mode (open) answers");
      assertEquals(1, Http.metric(sluice.sluice().metrics().scrape(), "sluice_redis_errors_total", "kind=\"failover\""));
    }
  }

  @Test
  void everyCommandOfAReadThatBringsAReadonlyIsAnsweredByItsOwnReplyBeforeTheConnectionIsReopened() throws Exception {
    try (TestRedis master = TestRedis.startOwn();
         TestRedis replica = TestRedis.startOwn("--replicaof", "127.0.0.1", String.valueOf(master.port()));
         SluiceFixture sluice = SluiceFixture.start(replica.uri(), MODES, new JsonObject().put("failureMode", "closed"))) {
      // 40 users: five script calls in one write, whose five READONLY replies come back in one read.
      // The first had the connection reopened while the other four were still in the parser's hands:
      // they were answered as a lost connection, and the parser's buffer was freed under it.
      io.sluice.grpc.v1.CheckBatchRequest.Builder batch = io.sluice.grpc.v1.CheckBatchRequest.newBuilder();
      for (int i = 0; i < 40; i++) {
        batch.addChecks(io.sluice.grpc.v1.CheckRequest.newBuilder().setUserId("demoted-" + i + "-" + UUID.randomUUID()).setAction("open_rule"));
      }
      io.sluice.grpc.v1.CheckBatchResponse answer = sluice.await(sluice.client().checkBatch(batch.build()));

      assertEquals(40, answer.getResultsCount());
      for (CheckResponse result : answer.getResultsList()) {
        assertTrue(result.getDegraded(), "a replica cannot take the writes of a check");
        assertEquals("failover", result.getDegradedReason(), "each command heard its own READONLY");
      }
      // The connections come back in a state to answer (a clean parser): once the breaker lets checks through again,
      // a check is answered by its own READONLY once more.
      io.sluice.support.Await.until("a check answered by the replica again", java.time.Duration.ofSeconds(10),
          () -> "failover".equals(sluice.check("demoted-again-" + UUID.randomUUID(), "open_rule").getDegradedReason()));
    }
  }

  /** When the outage began and ended, and when both breakers were open, for the assertions. */
  private static final class Outage {
    final String user = "hung-" + UUID.randomUUID();
    final AtomicLong stoppedNanos = new AtomicLong(Long.MAX_VALUE);
    final AtomicLong resumedNanos = new AtomicLong(Long.MAX_VALUE);
    final AtomicLong openedNanos = new AtomicLong();
    volatile List<String> scrapesOnceOpen;
    volatile List<String> scrapesAtResume;

    String describe(List<Traffic.Answer> answers) {
      return "answers=%d degraded=%d errors=%d max=%.1fms".formatted(answers.size(), Traffic.count(answers, Traffic.Answer::degraded),
          Traffic.count(answers, answer -> answer.error() != null), Traffic.maxLatencyMs(answers, answer -> true));
    }
  }

  private static Thread watchBreakers(Outage outage, SluiceFixture... instances) {
    Thread watch = new Thread(() -> {
      long giveUp = System.nanoTime() + 8_000_000_000L;
      while (System.nanoTime() < giveUp && outage.openedNanos.get() == 0) {
        boolean allOpen = true;
        for (SluiceFixture instance : instances) {
          allOpen &= "open".equals(instance.sluice().health().toJson().getString("breaker"));
        }
        if (allOpen) {
          outage.openedNanos.set(System.nanoTime());
        }
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "breaker-watch");
    watch.start();
    return watch;
  }

  private static double percentile(List<Traffic.Answer> answers, double quantile) {
    double[] latencies = answers.stream().mapToDouble(Traffic.Answer::latencyMs).sorted().toArray();
    return latencies[Math.max(0, (int) Math.ceil(quantile * latencies.length) - 1)];
  }

  private static void assertDegraded(Decision expected, CheckResponse response) {
    assertDegraded(expected, response, "");
  }

  private static void assertDegraded(Decision expected, CheckResponse response, String why) {
    assertEquals(expected, response.getDecision(), why);
    assertTrue(response.getDegraded(), "marked degraded");
    assertThat(response.getDegradedReason()).isIn("disconnected", "breaker_open");
  }

  private SluiceClient client(SluiceFixture instance) {
    return new SluiceClient(vertx, SocketAddress.inetSocketAddress(instance.port(), "127.0.0.1"));
  }

  /** A loopback port nothing listens on. */
}
