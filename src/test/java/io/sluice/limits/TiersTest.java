package io.sluice.limits;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.CheckBatchRequest;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.Await;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Plans: "tiers" in limits.json override rules for the users a request says are on them (CheckRequest.tier). */
@ExtendWith(RedisExtension.class)
class TiersTest {

  private static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 0.001 },
          "api": { "capacity": 2, "refillPerSecond": 0.001 } },
        "tiers": {
          "gold": { "api": { "capacity": 5 } },
          "free": { } } }
      """;

  @Test
  void aTierOverridesOnlyTheFieldsItNamesAndIsCheckedAsTheWholeRuleItMakes() {
    Limits limits = LimitsParser.parse(LIMITS, "test", 1);
    assertEquals(new Rule("api", 5, 0.001), limits.ruleFor("api", "gold"));
    assertEquals(new Rule("api", 2, 0.001), limits.ruleFor("api", "free"), "a tier without an override of the rule has the rule");
    assertEquals(limits.ruleFor("login"), limits.ruleFor("login", "gold"), "an action without a rule has the default rule's");
    assertEquals(limits.digest(), LimitsParser.parse(LimitsParser.toJson(limits), "again", 2).digest(),
        "what operators are shown is what is enforced");
    assertThat(limits.digest()).isNotEqualTo(LimitsParser.parse(LIMITS.replace("\"capacity\": 5", "\"capacity\": 6"), "test", 1).digest());

    Limits turnsOff = LimitsParser.parse("""
        { "rules": { "default": { "capacity": 1, "refillPerSecond": 1, "shadow": true, "failureMode": "closed",
                                  "abuse": { "maxViolations": 3 } } },
          "tiers": { "trial": { "default": { "shadow": false, "abuse": null, "failureMode": null } },
                     "burst": { "default": { "adaptive": true } } } }
        """, "test", 1);
    assertEquals(new Rule("default", 1, 1), turnsOff.ruleFor("x", "trial"), "a tier may turn a rule's shadow, abuse and failure mode off");
    assertEquals(turnsOff.digest(), LimitsParser.parse(LimitsParser.toJson(turnsOff), "again", 2).digest(), "and so it reads back");
    assertThat(turnsOff.anyAdaptive()).as("a tier's adaptive rule wakes the throttle").isTrue();

    InvalidLimitsException invalid = assertThrows(InvalidLimitsException.class, () -> LimitsParser.parse("""
        { "rules": { "default": { "capacity": 1, "refillPerSecond": 1 } },
          "tiers": { "gold": { "export": { "capacity": 5 }, "default": { "capacity": -1, "burst": 2 } }, "": { } } }
        """, "test", 1));
    assertThat(invalid.problems()).anySatisfy(problem -> assertThat(problem).contains("tiers.gold.export overrides no rule"))
        .anySatisfy(problem -> assertThat(problem).startsWith("tiers.gold.default.capacity must be a whole number"))
        .anySatisfy(problem -> assertThat(problem).startsWith("tiers.gold.default.burst is not a known field"))
        .satisfiesOnlyOnce(problem -> assertThat(problem).contains("burst"))
        .anySatisfy(problem -> assertThat(problem).startsWith("tiers.: a tier's name"));

    // A plan may drop a rule's quota, but Acquire finds a slot to take under every plan, so none drops its concurrency.
    Limits dropsQuota = LimitsParser.parse("""
        { "rules": { "default": { "capacity": 1, "refillPerSecond": 1, "quota": { "limit": 10, "period": "day" },
                                  "concurrency": { "maxInFlight": 2, "leaseSeconds": 30 } } },
          "tiers": { "gold": { "default": { "quota": null, "concurrency": { "maxInFlight": 9, "leaseSeconds": 30 } } } } }
        """, "test", 1);
    assertThat(dropsQuota.ruleFor("x", "gold").quota()).isNull();
    assertEquals(9, dropsQuota.ruleFor("x", "gold").concurrency().maxInFlight());
    assertEquals(dropsQuota.digest(), LimitsParser.parse(LimitsParser.toJson(dropsQuota), "again", 2).digest(), "and so it reads back");
    InvalidLimitsException dropsConcurrency = assertThrows(InvalidLimitsException.class, () -> LimitsParser.parse("""
        { "rules": { "default": { "capacity": 1, "refillPerSecond": 1, "concurrency": { "maxInFlight": 2, "leaseSeconds": 30 } } },
          "tiers": { "gold": { "default": { "concurrency": null } } } }
        """, "test", 1));
    assertThat(dropsConcurrency.problems()).singleElement().asString()
        .startsWith("tiers.gold.default.concurrency: a plan may change the rule's concurrency limit, not remove it");

    // A stored plan is chosen in the check's script call, among at most eight plans of one rule.
    StringBuilder nine = new StringBuilder("{ \"rules\": { \"default\": { \"capacity\": 1, \"refillPerSecond\": 1 } }, \"tiers\": {");
    for (int i = 1; i <= 9; i++) {
      nine.append(i > 1 ? ", " : "").append("\"t").append(i).append("\": { \"default\": { \"capacity\": ").append(i + 1).append(" } }");
    }
    InvalidLimitsException tooMany = assertThrows(InvalidLimitsException.class, () -> LimitsParser.parse(nine + "} }", "test", 1));
    assertThat(tooMany.problems()).containsExactly("tiers: at most 8 tiers may override one rule; 9 override 'default'");
    assertEquals(8, LimitsParser.parse(nine.toString().replaceFirst(", \"t9\"[^}]*} }", "") + "} }", "test", 1).tiers().size());
  }

  @Test
  void aUserOnATierGetsItsLimitExactlyAcrossTwoInstancesAndTheAnswerNamesIt(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      String gold = "gold-" + UUID.randomUUID();
      int allowed = 0;
      for (int i = 0; i < 8; i++) {
        CheckResponse answer = (i % 2 == 0 ? a : b).await((i % 2 == 0 ? a : b).client().check(check(gold, "gold")));
        assertEquals("gold", answer.getTier());
        assertEquals("api", answer.getRule(), "the plan's rule keeps the rule's name: one bucket");
        assertEquals(5, answer.getLimit());
        allowed += answer.getDecision() == Decision.ALLOW ? 1 : 0;
      }
      assertEquals(5, allowed, "gold's five, over both instances");

      String plain = "plain-" + UUID.randomUUID();
      assertEquals(Decision.ALLOW, a.check(plain, "api").getDecision());
      assertEquals(Decision.ALLOW, b.check(plain, "api").getDecision());
      CheckResponse third = a.check(plain, "api");
      assertEquals(Decision.DENY, third.getDecision(), "without a tier, the rule's two");
      assertEquals("", third.getTier());
    }
  }

  @Test
  void anUnknownTierIsInvalidArgumentNamingTheFieldAndChangesNothing(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = "unknown-tier-" + UUID.randomUUID();
      CallFailedException refused = assertThrows(CallFailedException.class, () -> sluice.await(sluice.client().check(check(user, "platinum"))));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, refused.status());
      assertThat(refused.getMessage()).contains("tier 'platinum' is not a tier of the limits in force (tiers: free, gold)");

      CallFailedException inBatch = assertThrows(CallFailedException.class, () -> sluice.await(sluice.client().checkBatch(
          CheckBatchRequest.newBuilder().addChecks(check(user, "gold")).addChecks(check(user, "silver")).build())));
      assertThat(inBatch.getMessage()).contains("checks[1].tier 'silver' is not a tier");
      assertThat(redis.keys()).noneMatch(key -> key.contains(user));
    }
  }

  @Test
  void tiersChangeLiveWithTheFile(TestRedis redis) throws Exception {
    Path file = Files.createTempFile("sluice-tiers", ".json");
    Files.writeString(file, LIMITS);
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), file, new JsonObject().put("limitsScanMs", 50))) {
      Files.writeString(file, LIMITS.replace("\"capacity\": 5", "\"capacity\": 7"));
      Await.until("gold's new capacity", Duration.ofSeconds(10),
          () -> sluice.sluice().limits().get().ruleFor("api", "gold").capacity() == 7);
      assertEquals(7, sluice.await(sluice.client().check(check("live-" + UUID.randomUUID(), "gold"))).getLimit());
    } finally {
      Files.deleteIfExists(file);
    }
  }

  @Test
  void aPublishedChangeReplacesATierOnEveryInstance(TestRedis redis) throws Exception {
    redis.command(io.vertx.redis.client.Command.DEL, io.sluice.redis.RedisKeys.LIMITS_KEY);
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    io.vertx.redis.client.Redis publisher = io.vertx.redis.client.Redis.createClient(vertx, redis.options());
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS).awaitSubscribed();
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS).awaitSubscribed()) {
      LimitsStore.publish(vertx, publisher, "{\"tiers\": {\"gold\": {\"api\": {\"capacity\": 9}}, \"free\": null}}",
          new JsonObject(LIMITS), 5000).await(10, java.util.concurrent.TimeUnit.SECONDS);
      for (SluiceFixture instance : java.util.List.of(a, b)) {
        Await.until("the published tier", Duration.ofSeconds(5), () -> instance.sluice().limits().get().tiers().keySet().equals(java.util.Set.of("gold")));
        assertEquals(9, instance.await(instance.client().check(check("published-" + UUID.randomUUID(), "gold"))).getLimit());
      }
      assertEquals(a.sluice().limits().get().digest(), b.sluice().limits().get().digest());
      CallFailedException free = assertThrows(CallFailedException.class, () -> a.await(a.client().check(check("x-" + UUID.randomUUID(), "free"))));
      assertThat(free.getMessage()).contains("tier 'free' is not a tier of the limits in force (tiers: gold)");

      assertThrows(Exception.class, () -> LimitsStore.publish(vertx, publisher, "{\"tiers\": {\"gold\": {\"export\": {\"capacity\": 9}}}}",
          new JsonObject(LIMITS), 5000).await(10, java.util.concurrent.TimeUnit.SECONDS), "an override of no rule is refused before it is stored");
      assertEquals(9, a.sluice().limits().get().ruleFor("api", "gold").capacity());
    } finally {
      redis.command(io.vertx.redis.client.Command.DEL, io.sluice.redis.RedisKeys.LIMITS_KEY);
      publisher.close();
      vertx.close().await(10, java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  @Test
  void theCliAsksOnATier(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String target = "127.0.0.1:" + sluice.port();
      String user = "cli-" + UUID.randomUUID();
      assertThat(io.sluice.support.Cli.run("check", "--target", target, "--user", user, "--action", "api", "--tier", "gold").out())
          .startsWith("ALLOW rule=api tier=gold limit=5 remaining=4 ");
      io.sluice.support.Cli.Run batch = io.sluice.support.Cli.run("check-batch", "--target", target, "--check", user + ":api:2",
          "--check", "other-" + user + ":api", "--tier", "gold");
      assertThat(batch.out()).contains("ALLOW rule=api tier=gold limit=5 remaining=2 ", "ALLOW rule=api tier=gold limit=5 remaining=4 ");
      io.sluice.support.Cli.Run unknown = io.sluice.support.Cli.run("check", "--target", target, "--user", user, "--action", "api",
          "--tier", "Gold");
      assertEquals(1, unknown.exitCode());
      assertThat(unknown.out() + unknown.err()).contains("tier 'Gold' is not a tier of the limits in force (tiers: free, gold)");
    }
  }

  private static CheckRequest check(String user, String tier) {
    return CheckRequest.newBuilder().setUserId(user).setAction("api").setTier(tier).build();
  }
}
