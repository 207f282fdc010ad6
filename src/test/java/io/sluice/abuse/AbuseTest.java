package io.sluice.abuse;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.BanInfo;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.grpc.v1.UnbanResponse;
import io.sluice.redis.RedisKeys;
import io.sluice.support.Await;
import io.sluice.support.Http;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Bans as two instances sharing one Redis enforce them. */
@ExtendWith(RedisExtension.class)
class AbuseTest {

  private static final String LIMITS = """
      {
        "rules": {
          "default": { "capacity": 3, "refillPerSecond": 0.001 },
          "login": { "capacity": 1, "refillPerSecond": 0.001,
            "abuse": { "maxViolations": 3, "windowSeconds": 60, "banSeconds": 1, "banMultiplier": 2,
                       "maxBanSeconds": 4, "historySeconds": 60 } },
          "shortwindow": { "capacity": 1, "refillPerSecond": 0.001,
            "abuse": { "maxViolations": 3, "windowSeconds": 0.3, "banSeconds": 10 } },
          "card": { "capacity": 1, "refillPerSecond": 0.001,
            "abuse": { "maxViolations": 2, "banSeconds": 10, "scope": "user" } },
          "signup": { "capacity": 2, "refillPerSecond": 0.001, "abuse": { "maxViolations": 3, "banSeconds": 10 } },
          "quick": { "capacity": 1, "refillPerSecond": 0.001,
            "abuse": { "maxViolations": 1, "banSeconds": 0.1, "historySeconds": 1 } }
        },
        "allowlist": ["healthcheck"],
        "denylist": ["mallory"]
      }
      """;

  private static TestRedis redis;
  private static SluiceFixture a;
  private static SluiceFixture b;

  @BeforeAll
  static void start(TestRedis testRedis) {
    redis = testRedis;
    a = SluiceFixture.start(redis.uri(), LIMITS).awaitSubscribed();
    b = SluiceFixture.start(redis.uri(), LIMITS).awaitSubscribed();
  }

  @AfterAll
  static void stop() throws Exception {
    a.close();
    b.close();
  }

  @Test
  void bansAfterExactlyMaxViolationsWithinTheWindowNotOneEarlier() {
    String user = newUser();
    assertEquals(Decision.ALLOW, a.check(user, "login").getDecision());
    CheckResponse first = a.check(user, "login");
    assertEquals(Decision.DENY, first.getDecision());
    assertEquals(1, first.getViolations());
    assertEquals(3, first.getMaxViolations());
    assertEquals(2, a.check(user, "login").getViolations());

    CheckResponse ban = a.check(user, "login");
    assertEquals(Decision.BAN, ban.getDecision());
    assertEquals(3, ban.getViolations());
    assertEquals(1, ban.getBanLevel());
    assertEquals("action", ban.getBanScope());
    assertEquals(1000, ban.getRetryAfterMs());
    assertEquals(1000, ban.getBanRemainingMs());
    assertThat(ban.getBanReason()).isEqualTo("3 violations of rule login within 60s");
  }

  @Test
  void anAllowSaysHowManyDenialsAlreadyCountTowardABan() {
    String user = newUser();
    assertEquals(0, a.check(user, "signup", 1).getViolations());
    // Two tokens are not there, one is: the denial counts, and the cheaper request that follows still passes.
    assertEquals(Decision.DENY, a.check(user, "signup", 2).getDecision());
    CheckResponse allowed = a.check(user, "signup", 1);
    assertEquals(Decision.ALLOW, allowed.getDecision());
    assertEquals(1, allowed.getViolations());
    assertEquals(3, allowed.getMaxViolations());
  }

  @Test
  void denialsSpreadOverMoreThanTheWindowDoNotBan() throws InterruptedException {
    String user = newUser();
    a.check(user, "shortwindow");
    assertEquals(Decision.DENY, a.check(user, "shortwindow").getDecision());
    assertEquals(Decision.DENY, a.check(user, "shortwindow").getDecision());
    // Time passing is the point: the first two denials leave the 0.3 s window.
    Thread.sleep(350);
    CheckResponse third = a.check(user, "shortwindow");
    assertEquals(Decision.DENY, third.getDecision());
    assertEquals(1, third.getViolations());
  }

  @Test
  void eachLaterBanIsLongerUpToTheCap() {
    String user = newUser();
    a.check(user, "login");
    long[] expectedMs = {1000, 2000, 4000, 4000};
    for (int level = 1; level <= expectedMs.length; level++) {
      CheckResponse ban = violateUntilBanned(user, "login");
      assertEquals(level, ban.getBanLevel());
      assertEquals(expectedMs[level - 1], ban.getBanRemainingMs());
      // An unban keeps the escalation history: the next ban is the next level.
      a.await(a.client().unban(user, "login"));
    }
  }

  @Test
  void escalationStartsOverOnceTheHistoryHasPassed() {
    String user = newUser();
    a.check(user, "quick");
    CheckResponse first = a.check(user, "quick");
    assertEquals(Decision.BAN, first.getDecision());
    assertEquals(1, first.getBanLevel());

    Await.until("the first ban to end", Duration.ofSeconds(5),
        () -> redis.command(Command.EXISTS, RedisKeys.ban(user, "quick")).toInteger() == 0);
    assertEquals(2, b.check(user, "quick").getBanLevel(), "within the history the next ban escalates");

    Await.until("the escalation history to expire", Duration.ofSeconds(10),
        () -> redis.command(Command.EXISTS, "ban_history:{" + user + "}:quick").toInteger() == 0);
    assertEquals(1, b.check(user, "quick").getBanLevel(), "after the history a ban starts at level 1");
  }

  @Test
  void userScopeBansEveryActionOfTheUser() {
    String user = newUser();
    a.check(user, "card");
    a.check(user, "card");
    CheckResponse ban = a.check(user, "card");
    assertEquals(Decision.BAN, ban.getDecision());
    assertEquals("user", ban.getBanScope());

    for (String action : List.of("login", "search", "card")) {
      CheckResponse other = b.check(user, action);
      assertEquals(Decision.BAN, other.getDecision(), action);
      assertEquals("user", other.getBanScope());
    }
  }

  @Test
  void actionScopeLeavesOtherActionsAlone() {
    String user = newUser();
    a.check(user, "login");
    violateUntilBanned(user, "login");
    assertEquals(Decision.ALLOW, a.check(user, "search").getDecision());
    assertEquals(Decision.ALLOW, b.check(user, "checkout").getDecision());
  }

  @Test
  void violationsOnBothInstancesAddUpToOneBanThatBothEnforce() {
    String user = newUser();
    assertEquals(Decision.ALLOW, a.check(user, "login").getDecision());
    assertEquals(1, a.check(user, "login").getViolations());
    assertEquals(2, b.check(user, "login").getViolations());
    assertEquals(Decision.BAN, a.check(user, "login").getDecision());
    assertEquals(Decision.BAN, b.check(user, "login").getDecision());
  }

  @Test
  void aBanMadeThroughOneInstanceIsEnforcedByTheOther() {
    String user = newUser();
    BanInfo made = a.await(a.client().ban(user, "", 60, "chargeback fraud"));
    assertEquals("user", made.getScope());
    CheckResponse onB = b.check(user, "checkout");
    assertEquals(Decision.BAN, onB.getDecision());
    assertEquals("chargeback fraud", onB.getBanReason());
    assertEquals(0, onB.getBanLevel());
    assertThat(onB.getBanRemainingMs()).isBetween(55_000L, 60_000L);
  }

  @Test
  void whileBannedChecksMakeNoRedisCallsAtAll() {
    String user = newUser();
    a.await(a.client().ban(user, "login", 60, "test"));
    assertEquals(Decision.BAN, a.check(user, "login").getDecision());
    assertEquals(Decision.BAN, b.check(user, "login").getDecision());

    long scriptCallsBefore = redis.scriptCalls();
    for (int i = 0; i < 50; i++) {
      assertEquals(Decision.BAN, a.check(user, "login").getDecision());
      assertEquals(Decision.BAN, b.check(user, "login").getDecision());
    }
    assertEquals(scriptCallsBefore, redis.scriptCalls());
  }

  @Test
  void unbanIsHonouredByBothInstancesAtOnce() {
    String user = newUser();
    a.await(a.client().ban(user, "", 60, "test"));
    // Both instances now hold the ban in their local caches.
    assertEquals(Decision.BAN, a.check(user, "login").getDecision());
    assertEquals(Decision.BAN, b.check(user, "login").getDecision());

    UnbanResponse unbanned = a.await(a.client().unban(user, ""));
    assertEquals(1, unbanned.getRemoved());
    assertEquals(2, unbanned.getInstancesNotified(), "both instances got the notice");
    assertEquals(2, unbanned.getInstancesConfirmed(), "and both said they dropped their copy");

    assertEquals(Decision.ALLOW, b.check(user, "login").getDecision());
    assertEquals(Decision.ALLOW, a.check(user, "search").getDecision());
  }

  @Test
  void aBannedRequestTakesNoTokenAndCountsNoViolation() {
    String user = newUser();
    a.await(a.client().ban(user, "login", 60, "test"));
    for (int i = 0; i < 5; i++) {
      assertEquals(Decision.BAN, b.check(user, "login").getDecision());
    }
    a.await(a.client().unban(user, "login"));
    CheckResponse after = b.check(user, "login");
    assertEquals(Decision.ALLOW, after.getDecision());
    assertEquals(0, after.getRemaining());
    CheckResponse denied = b.check(user, "login");
    assertEquals(1, denied.getViolations(), "no violation was counted while banned");
  }

  @Test
  void retriesDoNotExtendABan() {
    String user = newUser();
    a.await(a.client().ban(user, "login", 60, "test"));
    long before = a.await(a.client().listBans(user)).getBans(0).getRemainingMs();
    for (int i = 0; i < 20; i++) {
      a.check(user, "login");
      b.check(user, "login");
    }
    assertThat(a.await(a.client().listBans(user)).getBans(0).getRemainingMs()).isLessThanOrEqualTo(before);
  }

  @Test
  void allowlistedUsersAreNeverLimited() {
    long scriptCallsBefore = redis.scriptCalls();
    for (int i = 0; i < 20; i++) {
      CheckResponse response = a.check("healthcheck", "login");
      assertEquals(Decision.ALLOW, response.getDecision());
      assertEquals("allowlist", response.getRule());
    }
    assertEquals(scriptCallsBefore, redis.scriptCalls());
  }

  @Test
  void denylistedUsersAreAlwaysBanned() {
    CheckResponse response = b.check("mallory", "search");
    assertEquals(Decision.BAN, response.getDecision());
    assertEquals("denylist", response.getRule());
    assertEquals("denylist", response.getBanReason());
  }

  @Test
  void listBansShowsWhoWhatHowLongAndWhy() {
    String user = newUser();
    a.await(a.client().ban(user, "login", 600, "credential stuffing"));
    a.await(a.client().ban(user, "", 60, "scraping"));
    List<BanInfo> bans = b.await(b.client().listBans(user)).getBansList();
    assertEquals(2, bans.size());
    assertEquals("login", bans.get(0).getAction());
    assertEquals("credential stuffing", bans.get(0).getReason());
    assertThat(bans.get(0).getRemainingMs()).isBetween(590_000L, 600_000L);
    assertEquals("", bans.get(1).getAction());
    assertEquals("user", bans.get(1).getScope());
    assertThat(b.await(b.client().listBans("")).getBansList()).extracting(BanInfo::getUserId).contains(user);
  }

  @Test
  void unbanOfOneActionLeavesTheOthers() {
    String user = newUser();
    a.await(a.client().ban(user, "login", 60, "x"));
    a.await(a.client().ban(user, "checkout", 60, "y"));
    assertEquals(1, a.await(a.client().unban(user, "login")).getRemoved());
    assertEquals(Decision.ALLOW, b.check(user, "login").getDecision());
    assertEquals(Decision.BAN, b.check(user, "checkout").getDecision());
  }

  @Test
  void adminRejectsBadInputNamingTheField() {
    CallFailedException duration = assertThrows(CallFailedException.class,
        () -> a.await(a.client().ban(newUser(), "", 0, "")));
    assertEquals(GrpcStatus.INVALID_ARGUMENT, duration.status());
    assertThat(duration.getMessage()).contains("duration_seconds must be from 1");
    CallFailedException user = assertThrows(CallFailedException.class, () -> a.await(a.client().unban("", "")));
    assertThat(user.getMessage()).contains("user_id must be");
  }

  @Test
  void policiesThatCannotWorkAreRejected() {
    String impossible = LIMITS.replace("\"maxBanSeconds\": 4", "\"maxBanSeconds\": 0.5");
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> SluiceFixture.start(redis.uri(), impossible));
    assertThat(rootMessage(e)).contains("rules.login.abuse.maxBanSeconds must be >= banSeconds (1.0), was 0.5");
  }

  @Test
  void theBansRulesMadeAreKeptForOperatorsOnceTheyEndWithWhatMadeThem() {
    String user = newUser();
    a.check(user, "login");
    violateUntilBanned(user, "login");
    // On the other instance, a ban of every action by another rule; and an operator's, which the audit trail keeps instead.
    b.check(user, "card");
    assertEquals(Decision.DENY, b.check(user, "card").getDecision());
    assertEquals(Decision.BAN, b.check(user, "card").getDecision());
    a.await(a.client().ban(user, "signup", 60, "by hand"));

    URI history = URI.create("http://127.0.0.1:" + a.httpPort() + "/admin/bans/history?count=10&user=" + user);
    String bearer = "Bearer " + SluiceFixture.ADMIN_TOKEN;
    Await.until("both instances to write the bans their checks made", Duration.ofSeconds(10),
        () -> Http.body(history, bearer).split("\"rule\"", -1).length - 1 == 2);
    io.vertx.core.json.JsonArray entries = new io.vertx.core.json.JsonObject(Http.body(history, bearer)).getJsonArray("entries");
    assertEquals(2, entries.size(), entries.encodePrettily());
    // Each instance writes its bans once a second: newest written first, which is not always newest made.
    boolean cardFirst = "card".equals(entries.getJsonObject(0).getString("rule"));
    io.vertx.core.json.JsonObject card = entries.getJsonObject(cardFirst ? 0 : 1);
    assertEquals(List.of("card", "", "user", 1, 2), List.of(card.getString("rule"), card.getString("action"), card.getString("scope"),
        card.getInteger("level"), card.getInteger("violations")));
    io.vertx.core.json.JsonObject login = entries.getJsonObject(cardFirst ? 1 : 0);
    assertEquals(List.of("login", "login", "action", 1, 1000L, "3 violations of rule login within 60s"), List.of(login.getString("rule"),
        login.getString("action"), login.getString("scope"), login.getInteger("level"), login.getLong("lengthMs"), login.getString("reason")));
    assertEquals(user, login.getString("user"));
    assertEquals(401, Http.status(history), "not without the admin token");
  }

  private static CheckResponse violateUntilBanned(String user, String action) {
    for (int i = 0; i < 100; i++) {
      CheckResponse response = a.check(user, action);
      if (response.getDecision() == Decision.BAN) {
        return response;
      }
      assertEquals(Decision.DENY, response.getDecision());
    }
    throw new AssertionError("never banned");
  }

  private static String rootMessage(Throwable e) {
    Throwable cause = e;
    while (cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause.getMessage();
  }

  private static String newUser() {
    return "abuser-" + UUID.randomUUID();
  }
}
