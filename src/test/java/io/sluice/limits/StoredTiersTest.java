package io.sluice.limits;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.CheckBatchRequest;
import io.sluice.grpc.v1.CheckBatchResponse;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.grpc.v1.StoredTier;
import io.sluice.redis.RedisKeys;
import io.sluice.telemetry.Metrics;
import io.sluice.support.Await;
import io.sluice.support.Cli;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Plans stored for users in Redis (tier:{user}): a check that names no tier is decided by the stored
 * plan, read in the same script call, on both instances alike; a request's tier beats the stored one.
 */
@ExtendWith(RedisExtension.class)
class StoredTiersTest {

  static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 0.001 },
          "api": { "capacity": 2, "refillPerSecond": 0.001 },
          "search": { "capacity": 2, "refillPerSecond": 0.001 },
          "preview": { "capacity": 1, "refillPerSecond": 0.001, "shadow": true },
          "export": { "capacity": 1, "refillPerSecond": 0.001, "abuse": { "maxViolations": 2, "windowSeconds": 60, "banSeconds": 60 } } },
        "tiers": {
          "gold": { "api": { "capacity": 5 }, "export": { "capacity": 3 }, "search": { "refillPerSecond": 1000 } },
          "silver": { "api": { "capacity": 3 } },
          "pro plan": { "api": { "capacity": 4 }, "preview": { "shadow": false } },
          "trial": { "export": { "shadow": true } },
          "free": { } } }
      """;

  @Test
  void aStoredTierDecidesAcrossTwoInstancesAndTheRequestsTierBeatsIt(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      String gold = "stored-gold-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(gold), "gold");
      int allowed = 0;
      for (int i = 0; i < 8; i++) {
        CheckResponse answer = (i % 2 == 0 ? a : b).check(gold, "api");
        assertEquals("gold", answer.getTier(), "the answer names the stored plan");
        assertEquals(5, answer.getLimit());
        allowed += answer.getDecision() == Decision.ALLOW ? 1 : 0;
      }
      assertEquals(5, allowed, "gold's five, over both instances");

      String silverByRequest = "stored-gold-asks-silver-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(silverByRequest), "gold");
      int allowedAsSilver = 0;
      for (int i = 0; i < 5; i++) {
        CheckResponse answer = a.await(a.client().check(CheckRequest.newBuilder().setUserId(silverByRequest).setAction("api")
            .setTier("silver").build()));
        assertEquals("silver", answer.getTier());
        allowedAsSilver += answer.getDecision() == Decision.ALLOW ? 1 : 0;
      }
      assertEquals(3, allowedAsSilver, "the request's tier beats the stored one");

      String free = "stored-free-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(free), "free");
      CheckResponse first = a.check(free, "api");
      assertEquals("free", first.getTier(), "a plan that changes nothing of the rule is still the user's plan");
      assertEquals(2, first.getLimit());

      String retired = "stored-retired-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(retired), "platinum");
      CheckResponse unknown = b.check(retired, "api");
      assertEquals("", unknown.getTier(), "a stored tier the limits no longer have is no plan: the rule decides");
      assertEquals(2, unknown.getLimit());

      String none = "stored-none-" + UUID.randomUUID();
      assertEquals(2, a.check(none, "api").getLimit());
      assertEquals("", a.check(none, "api").getTier());
    }
  }

  @Test
  void aStoredTierDecidesInABatchAndUnderConcurrencyWithinOneCall(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      String gold = "batch-gold-" + UUID.randomUUID();
      String plain = "batch-plain-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(gold), "gold");
      CheckBatchRequest.Builder batch = CheckBatchRequest.newBuilder();
      for (int i = 0; i < 4; i++) {
        batch.addChecks(CheckRequest.newBuilder().setUserId(gold).setAction("export"));
        batch.addChecks(CheckRequest.newBuilder().setUserId(plain).setAction("export"));
      }
      CheckBatchResponse answers = a.await(a.client().checkBatch(batch.build()));
      long goldAllowed = answers.getResultsList().stream().filter(r -> r.getTier().equals("gold") && r.getDecision() == Decision.ALLOW).count();
      long plainAllowed = answers.getResultsList().stream().filter(r -> r.getTier().isEmpty() && r.getDecision() == Decision.ALLOW).count();
      assertEquals(3, goldAllowed, "gold's three exports, in one batch");
      assertEquals(1, plainAllowed, "the rule's one");

      // Many concurrent checks of one stored-tier user share calls (grouped per turn): still exactly the plan's limit.
      String crowd = "crowd-gold-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(crowd), "gold");
      List<io.vertx.core.Future<CheckResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        SluiceFixture instance = i % 2 == 0 ? a : b;
        calls.add(instance.client().check(CheckRequest.newBuilder().setUserId(crowd).setAction("api").build()));
      }
      long crowdAllowed = 0;
      for (io.vertx.core.Future<CheckResponse> call : calls) {
        CheckResponse answer = call.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(answer.getDegraded()).as("no answer of a failure mode").isFalse();
        crowdAllowed += answer.getDecision() == Decision.ALLOW ? 1 : 0;
      }
      assertEquals(5, crowdAllowed, "200 callers over two instances: gold's five");
    }
  }

  @Test
  void operatorsSetGetAndClearAUsersTierOverGrpcHttpAndTheCliAndEveryInstanceForgetsRefusalsOfTheOldPlan(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      b.awaitSubscribed();
      String user = "upgraded-" + UUID.randomUUID();
      assertEquals(Decision.ALLOW, b.check(user, "search").getDecision());
      assertEquals(Decision.ALLOW, b.check(user, "search").getDecision());
      CheckResponse refused = b.check(user, "search");
      assertEquals(Decision.DENY, refused.getDecision(), "the rule's two, refilled in 500 s each");
      double cachedBefore = b.counter(Metrics.DENY_CACHE_HITS);
      assertEquals(Decision.DENY, b.check(user, "search").getDecision());
      assertThat(b.counter(Metrics.DENY_CACHE_HITS)).as("b answers the refusal from its cache").isGreaterThan(cachedBefore);

      StoredTier set = a.await(a.client().setTier(user, "gold"));
      assertEquals("gold", set.getTier());
      assertThat(set.getInForce()).isTrue();
      assertEquals("gold", redis.command(Command.GET, RedisKeys.tier(user)).toString());
      // Gold refills 1000 a second: the refusal b cached under the rule is not certain any more.
      Await.until("b forgets the refusal of the old plan", Duration.ofSeconds(5),
          () -> b.check(user, "search").getDecision() == Decision.ALLOW);
      assertEquals("gold", b.check(user, "search").getTier());
      assertEquals("gold", b.await(b.client().getTier(user)).getTier());

      CallFailedException unknown = assertThrows(CallFailedException.class, () -> a.await(a.client().setTier(user, "platinum")));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, unknown.status());
      assertThat(unknown.getMessage()).contains("tier 'platinum' is not a tier of the limits in force (tiers: free, gold, pro plan, silver, trial)");
      assertEquals("gold", redis.command(Command.GET, RedisKeys.tier(user)).toString(), "a refused change changes nothing");
      CallFailedException noUser = assertThrows(CallFailedException.class, () -> a.await(a.client().setTier("", "gold")));
      assertThat(noUser.getMessage()).contains("user_id");

      // The admin HTTP API alike.
      String http = "http-tier-" + UUID.randomUUID();
      HttpResponse<String> put = admin(a, "PUT", "/admin/tiers", new JsonObject().put("user", http).put("tier", "silver").encode());
      assertEquals(200, put.statusCode(), put.body());
      assertEquals(new JsonObject().put("user", http).put("tier", "silver").put("inForce", true), new JsonObject(put.body()));
      assertEquals("silver", new JsonObject(admin(b, "GET", "/admin/tiers?user=" + http, null).body()).getString("tier"));
      HttpResponse<String> badTier = admin(a, "PUT", "/admin/tiers", new JsonObject().put("user", http).put("tier", "Gold").encode());
      assertEquals(400, badTier.statusCode());
      assertEquals("tier", new JsonObject(badTier.body()).getString("field"));
      HttpResponse<String> misspelt = admin(a, "PUT", "/admin/tiers", new JsonObject().put("user", http).put("tire", "gold").encode());
      assertEquals(400, misspelt.statusCode());
      assertThat(misspelt.body()).contains("unknown field \\\"tire\\\"");
      assertEquals(401, HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.httpPort()
          + "/admin/tiers?user=" + http)).GET().build(), HttpResponse.BodyHandlers.ofString()).statusCode(), "no token, no tiers");
      for (String[] noBody : new String[][] {{"PUT", "/admin/tiers?user=" + http + "&tier=gold"}, {"POST", "/admin/bans"}}) {
        HttpResponse<String> refusedWithoutBody = admin(a, noBody[0], noBody[1], null);
        assertEquals(400, refusedWithoutBody.statusCode(), noBody[0] + " without a body: " + refusedWithoutBody.body());
        assertEquals("body", new JsonObject(refusedWithoutBody.body()).getString("field"));
      }
      HttpResponse<String> clearedByPut = admin(a, "PUT", "/admin/tiers", new JsonObject().put("user", http).put("tier", "").encode());
      assertEquals(new JsonObject().put("user", http).put("tier", "").put("inForce", false), new JsonObject(clearedByPut.body()),
          "an empty tier removes it, as over gRPC");
      admin(a, "PUT", "/admin/tiers", new JsonObject().put("user", http).put("tier", "silver").encode());
      HttpResponse<String> cleared = admin(a, "DELETE", "/admin/tiers?user=" + http, null);
      assertEquals(200, cleared.statusCode(), cleared.body());
      assertEquals(0, redis.command(Command.EXISTS, RedisKeys.tier(http)).toInteger());

      // And the CLI.
      String target = "127.0.0.1:" + a.port();
      String cli = "cli-tier-" + UUID.randomUUID();
      Cli.Run setByCli = Cli.run("tier", "set", "--target", target, "--token", SluiceFixture.ADMIN_TOKEN, "--user", cli, "--tier", "gold");
      assertEquals(0, setByCli.exitCode(), setByCli.err());
      assertThat(setByCli.out()).contains("user=" + cli + " tier=gold");
      assertThat(Cli.run("tier", "get", "--target", target, "--token", SluiceFixture.ADMIN_TOKEN, "--user", cli).out()).contains("tier=gold");
      assertEquals(5, a.check(cli, "api").getLimit());
      Cli.Run clearByCli = Cli.run("tier", "clear", "--target", target, "--token", SluiceFixture.ADMIN_TOKEN, "--user", cli);
      assertEquals(0, clearByCli.exitCode(), clearByCli.err());
      assertThat(clearByCli.out()).contains("tier=none");
      assertEquals(2, a.check(cli, "api").getLimit());
      Cli.Run refusedByCli = Cli.run("tier", "set", "--target", target, "--token", SluiceFixture.ADMIN_TOKEN, "--user", cli, "--tier", "bronze");
      assertEquals(1, refusedByCli.exitCode());
      assertThat(refusedByCli.err()).contains("tier 'bronze' is not a tier");
      assertEquals(2, Cli.run("tier", "--target", target).exitCode(), "a tier command names what to do");
      Cli.Run noTier = Cli.run("tier", "set", "--target", target, "--user", cli);
      assertEquals(2, noTier.exitCode());
      assertThat(noTier.err()).contains("Missing required option: '--tier=<tier>'").contains("Run 'sluice tier set --help'");
    }
  }

  @Test
  void aStoredTierThatPutsARuleInShadowLetsTheUserThroughAndSaysWhatEnforcingWouldHaveDone(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String trial = "trial-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(trial), "trial");
      List<CheckResponse> answers = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        answers.add(a.check(trial, "export"));
      }
      assertThat(answers).allSatisfy(answer -> {
        assertEquals(Decision.ALLOW, answer.getDecision(), "a rule in shadow never blocks on what it decides");
        assertEquals("trial", answer.getTier());
      });
      assertThat(answers).anySatisfy(answer -> assertThat(answer.getShadow()).isTrue());
      assertThat(redis.keys()).as("its bans live apart, where they never block")
          .noneMatch(key -> key.startsWith("ban:{" + trial)).noneMatch(key -> key.startsWith("ban_history:{" + trial));

      String plain = "no-trial-" + UUID.randomUUID();
      a.check(plain, "export");
      assertEquals(Decision.DENY, a.check(plain, "export").getDecision(), "without the plan the rule enforces");
    }
  }

  @Test
  void aTierNamedWithSpacesIsChosenByItsWholeName(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String pro = "pro-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(pro), "pro plan");
      CheckResponse answer = a.check(pro, "api");
      assertEquals("pro plan", answer.getTier());
      assertEquals(4, answer.getLimit());
      String half = "half-name-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(half), "plan");
      assertEquals(2, a.check(half, "api").getLimit(), "a part of a name is no name");
      String silver = "after-pro-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(silver), "silver");
      assertEquals(3, a.check(silver, "api").getLimit(), "a plan listed after a name with a space is still its own");
    }
  }

  @Test
  void aRefusalCachedForARequestThatNamedItsTierNeverAnswersForTheStoredPlan(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      // preview is in shadow; the stored plan "pro plan" enforces it.
      String user = "enforced-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(user), "pro plan");
      CheckRequest named = CheckRequest.newBuilder().setUserId(user).setAction("preview").setTier("pro plan").build();
      assertEquals(Decision.ALLOW, a.await(a.client().check(named)).getDecision());
      assertEquals(Decision.DENY, a.await(a.client().check(named)).getDecision(), "pro plan's one, enforced");
      for (int i = 0; i < 3; i++) {
        CheckResponse stored = a.check(user, "preview");
        assertEquals(Decision.DENY, stored.getDecision(), "the stored plan enforces too: never a shadow's ALLOW");
        assertEquals("pro plan", stored.getTier());
      }
    }
  }

  @Test
  void aCostTheStoredPlanCannotHoldIsInvalidArgumentAndCountsTowardNothing(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String free = "free-big-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(free), "free");
      for (int i = 0; i < 3; i++) {
        CallFailedException refused = assertThrows(CallFailedException.class, () -> a.check(free, "export", 3));
        assertEquals(GrpcStatus.INVALID_ARGUMENT, refused.status());
        assertThat(refused.getMessage()).contains("cost must be from 0 to the capacity of rule 'export' on the user's stored tier 'free' (1), was 3");
      }
      assertThat(redis.keys()).as("no violation counted, no ban made").noneMatch(key -> key.contains(free) && !key.startsWith("tier:"));
      CallFailedException noPlan = assertThrows(CallFailedException.class, () -> a.check("no-plan-" + UUID.randomUUID(), "export", 3));
      assertThat(noPlan.getMessage()).as("a user with no stored plan is measured against the rule, and told so")
          .contains("cost must be from 0 to the capacity of rule 'export' (1), was 3");
      String gold = "gold-big-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(gold), "gold");
      assertEquals(Decision.ALLOW, a.check(gold, "export", 3).getDecision(), "gold holds three");
      CallFailedException tooLarge = assertThrows(CallFailedException.class, () -> a.check(gold, "export", 4));
      assertThat(tooLarge.getMessage()).contains("cost must be from 0 to the capacity of rule 'export' (3, of its largest plan), was 4");

      // Found too large in Redis, after another check of the batch took its token: the batch fails
      // whole, atomic or not, and what the other took is given back (nobody is told of it).
      String batched = "free-batch-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(batched), "free");
      CallFailedException batch = assertThrows(CallFailedException.class, () -> a.await(a.client().checkBatch(
          io.sluice.grpc.v1.CheckBatchRequest.newBuilder()
              .addChecks(CheckRequest.newBuilder().setUserId(batched).setAction("api"))
              .addChecks(CheckRequest.newBuilder().setUserId(batched).setAction("export").setCost(3)).build())));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, batch.status());
      assertThat(batch.getMessage()).contains("checks[1].cost must be from 0 to the capacity of rule 'export' on the user's stored tier 'free'");
      assertEquals(2, a.check(batched, "api").getRemaining() + 1, "api's token was given back: the bucket is full");
    }
  }

  private static HttpResponse<String> admin(SluiceFixture instance, String method, String path, String body) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + instance.httpPort() + path))
        .header("Authorization", "Bearer " + SluiceFixture.ADMIN_TOKEN)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
