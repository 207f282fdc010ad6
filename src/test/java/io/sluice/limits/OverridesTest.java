package io.sluice.limits;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.grpc.v1.SetOverrideRequest;
import io.sluice.grpc.v1.StoredOverride;
import io.sluice.redis.RedisKeys;
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
import java.time.OffsetDateTime;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A user's own numbers for one overridable rule, until a time (Admin/SetOverride): read by the
 * check's own script call, whatever the plan, on both instances alike, and gone when Redis's clock
 * reaches its end.
 */
@ExtendWith(RedisExtension.class)
class OverridesTest {

  static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 0.001 },
          "api": { "capacity": 2, "refillPerSecond": 0.001, "overridable": true },
          "export": { "capacity": 1, "refillPerSecond": 0.001 } },
        "tiers": { "gold": { "api": { "capacity": 5 } } } }
      """;

  private static SetOverrideRequest override(String user, long capacity, long seconds) {
    return SetOverrideRequest.newBuilder().setUserId(user).setAction("api").setCapacity(capacity).setRefillPerSecond(0.001)
        .setSeconds(seconds).build();
  }

  @Test
  void anOverrideDecidesOnBothInstancesWhateverThePlanAndTheAnswerSaysSo(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      String acme = "acme-" + UUID.randomUUID();
      StoredOverride set = a.await(a.client().setOverride(override(acme, 10, 600)));
      assertThat(set.getExists()).isTrue();
      assertEquals("api", set.getRule());
      assertEquals(10, set.getCapacity());
      assertThat(set.getRemainingMs()).isBetween(590_000L, 600_000L);
      int allowed = 0;
      for (int i = 0; i < 14; i++) {
        CheckResponse answer = (i % 2 == 0 ? a : b).check(acme, "api");
        assertThat(answer.getOverridden()).isTrue();
        assertEquals(10, answer.getLimit());
        allowed += answer.getDecision() == Decision.ALLOW ? 1 : 0;
      }
      assertEquals(10, allowed, "the override's ten, over both instances");

      String gold = "gold-acme-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.tier(gold), "gold");
      a.await(a.client().setOverride(override(gold, 7, 600)));
      CheckResponse stored = b.check(gold, "api");
      assertEquals(7, stored.getLimit(), "the override beats the stored plan");
      assertEquals("gold", stored.getTier(), "which the answer still names");
      CheckResponse named = a.await(a.client().check(CheckRequest.newBuilder().setUserId(gold).setAction("api").setTier("gold").build()));
      assertEquals(7, named.getLimit(), "and the plan a request names");
      assertThat(named.getOverridden()).isTrue();

      String plain = "no-override-" + UUID.randomUUID();
      CheckResponse without = a.check(plain, "api");
      assertThat(without.getOverridden()).isFalse();
      assertEquals(2, without.getLimit());

      StoredOverride cleared = a.await(a.client().clearOverride(acme, "api"));
      assertThat(cleared.getExists()).isFalse();
      assertEquals(2, b.check(acme, "api").getLimit(), "cleared: the rule again");
      assertThat(b.await(b.client().getOverride(acme, "api")).getExists()).isFalse();
    }
  }

  @Test
  void anOverrideEndsWhenRedissClockReachesItsEnd(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String brief = "brief-" + UUID.randomUUID();
      a.await(a.client().setOverride(override(brief, 10, 1)));
      assertThat(redis.command(Command.PTTL, RedisKeys.override(brief, "api")).toLong()).as("Redis ends it").isBetween(1L, 1000L);
      assertThat(a.check(brief, "api").getOverridden()).isTrue();
      Await.until("the override ends", Duration.ofSeconds(10), () -> !a.check(brief, "api").getOverridden());
      assertEquals(0, redis.command(Command.EXISTS, RedisKeys.override(brief, "api")).toInteger(), "ended by Redis, not by the instance");
      assertEquals(2, a.check(brief, "api").getLimit());

      String friday = "friday-" + UUID.randomUUID();
      String until = OffsetDateTime.now().plusDays(4).withNano(0).toString();
      StoredOverride toFriday = a.await(a.client().setOverride(SetOverrideRequest.newBuilder().setUserId(friday).setAction("api")
          .setCapacity(20).setRefillPerSecond(1).setUntil(until).build()));
      assertThat(toFriday.getRemainingMs()).isBetween(Duration.ofDays(4).minusMinutes(1).toMillis(), Duration.ofDays(4).toMillis());
    }
  }

  @Test
  void aRefusalCachedBeforeTheOverrideIsForgottenOnEveryInstance(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      b.awaitSubscribed();
      String user = "raised-" + UUID.randomUUID();
      b.check(user, "api");
      b.check(user, "api");
      assertEquals(Decision.DENY, b.check(user, "api").getDecision());
      assertEquals(Decision.DENY, b.check(user, "api").getDecision(), "b caches the certain refusal");
      a.await(a.client().setOverride(SetOverrideRequest.newBuilder().setUserId(user).setAction("api").setCapacity(5)
          .setRefillPerSecond(1000).setSeconds(600).build()));
      Await.until("b forgets it", Duration.ofSeconds(5), () -> b.check(user, "api").getDecision() == Decision.ALLOW);
    }
  }

  @Test
  void badOverridesAreInvalidArgumentNamingTheFieldAndChangeNothing(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = "bad-" + UUID.randomUUID();
      CallFailedException notOverridable = assertThrows(CallFailedException.class, () -> a.await(a.client().setOverride(
          override(user, 5, 60).toBuilder().setAction("export").build())));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, notOverridable.status());
      assertThat(notOverridable.getMessage()).contains("rule 'export' (of action 'export') takes no overrides: give it \"overridable\": true");
      assertThat(assertThrows(CallFailedException.class, () -> a.await(a.client().setOverride(override(user, 5, 60).toBuilder()
          .setUntil("2030-01-01T00:00:00Z").build()))).getMessage()).contains("give exactly one of until");
      assertThat(assertThrows(CallFailedException.class, () -> a.await(a.client().setOverride(override(user, 5, 0).toBuilder()
          .setUntil("friday").build()))).getMessage()).contains("until must be an ISO-8601 instant");
      assertThat(assertThrows(CallFailedException.class, () -> a.await(a.client().setOverride(override(user, 5, 0).toBuilder()
          .setUntil("2020-01-01T00:00:00Z").build()))).getMessage()).contains("until must be in the future");
      assertThat(assertThrows(CallFailedException.class, () -> a.await(a.client().setOverride(override(user, 0, 60))))
          .getMessage()).contains("capacity must be from 1");
      assertThat(assertThrows(CallFailedException.class, () -> a.await(a.client().setOverride(override(user, 5, 60).toBuilder()
          .setRefillPerSecond(0).build()))).getMessage()).contains("refill_per_second must be above 0");
      assertThat(assertThrows(CallFailedException.class, () -> a.await(a.client().setOverride(override(user, 1_000_000_000, 60).toBuilder()
          .setRefillPerSecond(1e-9).build()))).getMessage()).contains("refill_per_second must refill the bucket within ten years");
      // Unsigned on the wire: -1 is 2^64 - 1 seconds, not a time in the past.
      assertThat(assertThrows(CallFailedException.class, () -> a.await(a.client().setOverride(override(user, 5, -1))))
          .getMessage()).contains("seconds must be from 1 to 31536000, was 18446744073709551615");
      assertThat(redis.keys()).noneMatch(key -> key.contains(user));

      InvalidLimitsException adaptive = assertThrows(InvalidLimitsException.class, () -> LimitsParser.parse(
          LIMITS.replace("\"overridable\": true", "\"overridable\": true, \"adaptive\": true"), "test", 1));
      assertThat(adaptive.problems()).anySatisfy(problem -> assertThat(problem).contains("an adaptive rule takes no overrides"));

      InvalidLimitsException planOverridable = assertThrows(InvalidLimitsException.class, () -> LimitsParser.parse(
          LIMITS.replace("\"capacity\": 5 }", "\"capacity\": 5, \"overridable\": false }"), "test", 1));
      assertThat(planOverridable.problems()).anySatisfy(problem -> assertThat(problem).startsWith("tiers.gold.api.overridable: whether users"));
      Limits limits = LimitsParser.parse(LIMITS, "test", 1);
      assertEquals(limits.digest(), LimitsParser.parse(LimitsParser.toJson(limits), "again", 2).digest(), "overridable reads back");
      assertThat(limits.digest()).as("overridable is enforced, so it is in the digest")
          .isNotEqualTo(LimitsParser.parse(LIMITS.replace(", \"overridable\": true", ""), "test", 1).digest());
    }
  }

  @Test
  void anOverrideChangedByHandIntoNonsenseIsNoOverrideAndBreaksNoOnesCheck(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String[][] nonsense = {{"capacity", "lots", "refill", "1"}, {"capacity", "0", "refill", "1"}, {"capacity", "5", "refill", "-1"},
          {"capacity", "1000000000", "refill", "0.000000001"}, {"capacity", "2.5", "refill", "1"}, {"capacity", "5"}};
      for (String[] fields : nonsense) {
        String user = "by-hand-" + UUID.randomUUID();
        Object[] args = new Object[fields.length + 1];
        args[0] = RedisKeys.override(user, "api");
        System.arraycopy(fields, 0, args, 1, fields.length);
        redis.command(Command.HSET, args);
        CheckResponse answer = a.check(user, "api");
        assertThat(answer.getOverridden()).as(String.join(" ", fields)).isFalse();
        assertEquals(2, answer.getLimit(), "the rule decides");
      }
      String notAHash = "not-a-hash-" + UUID.randomUUID();
      redis.command(Command.SET, RedisKeys.override(notAHash, "api"), "10");
      assertEquals(Decision.ALLOW, a.check(notAHash, "api").getDecision(), "a key of another type is no override either");
      String written = "exponent-" + UUID.randomUUID();
      redis.command(Command.HSET, RedisKeys.override(written, "api"), "capacity", "1e3", "refill", "1");
      CheckResponse exponent = a.check(written, "api");
      assertThat(exponent.getOverridden()).isTrue();
      assertEquals(1000, exponent.getLimit(), "a whole capacity however Redis spells it");
    }
  }

  @Test
  void operatorsManageOverridesOverHttpAndTheCli(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS)) {
      String http = "http-override-" + UUID.randomUUID();
      HttpResponse<String> put = admin(a, "PUT", "/admin/overrides", new JsonObject().put("user", http).put("action", "api")
          .put("capacity", 9).put("refillPerSecond", 0.5).put("seconds", 600).encode());
      assertEquals(200, put.statusCode(), put.body());
      assertThat(new JsonObject(put.body()).getInteger("capacity")).isEqualTo(9);
      assertEquals(9, a.check(http, "api").getLimit());
      JsonObject got = new JsonObject(admin(a, "GET", "/admin/overrides?user=" + http + "&action=api", null).body());
      assertThat(got.getBoolean("exists")).isTrue();
      assertEquals(0.5, got.getDouble("refillPerSecond"));
      HttpResponse<String> misspelt = admin(a, "PUT", "/admin/overrides", new JsonObject().put("user", http).put("action", "api")
          .put("capacity", 9).put("refill", 0.5).put("seconds", 600).encode());
      assertEquals(400, misspelt.statusCode());
      assertEquals("refill", new JsonObject(misspelt.body()).getString("field"));
      assertEquals(200, admin(a, "DELETE", "/admin/overrides?user=" + http + "&action=api", null).statusCode());
      assertEquals(2, a.check(http, "api").getLimit());

      String target = "127.0.0.1:" + a.port();
      String cli = "cli-override-" + UUID.randomUUID();
      Cli.Run set = Cli.run("override", "set", "--target", target, "--token", SluiceFixture.ADMIN_TOKEN, "--user", cli, "--action", "api",
          "--capacity", "8", "--refill", "2", "--seconds", "600");
      assertEquals(0, set.exitCode(), set.err());
      assertThat(set.out()).contains("user=" + cli + " rule=api capacity=8 refill_per_second=2 remaining_ms=");
      assertEquals(8, a.check(cli, "api").getLimit());
      assertThat(Cli.run("override", "get", "--target", target, "--token", SluiceFixture.ADMIN_TOKEN, "--user", cli, "--action", "api")
          .out()).contains("capacity=8");
      assertThat(Cli.run("override", "clear", "--target", target, "--token", SluiceFixture.ADMIN_TOKEN, "--user", cli, "--action", "api")
          .out()).contains("override=none");
      Cli.Run both = Cli.run("override", "set", "--target", target, "--user", cli, "--action", "api", "--capacity", "8", "--refill", "2");
      assertEquals(2, both.exitCode());
      assertThat(both.err()).contains("give exactly one of --until and --seconds");
    }
  }

  private static HttpResponse<String> admin(SluiceFixture instance, String method, String path, String body) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + instance.httpPort() + path))
        .header("Authorization", "Bearer " + SluiceFixture.ADMIN_TOKEN)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
