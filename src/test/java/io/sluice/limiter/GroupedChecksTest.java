package io.sluice.limiter;

import io.sluice.grpc.v1.CheckBatchRequest;
import io.sluice.grpc.v1.CheckBatchResponse;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.telemetry.Metrics;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Checks that arrive in the same event-loop turn share script calls (up to eight a call), and are
 * decided in them one after the other: exactly what they would have been one by one. A CheckBatch's
 * checks arrive in one turn whatever the timing, so a batch shows the sharing deterministically;
 * each shared answer is compared with the same checks sent one at a time.
 */
@ExtendWith(RedisExtension.class)
class GroupedChecksTest {

  private static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 5, "refillPerSecond": 0.001 },
          "abusive": { "capacity": 2, "refillPerSecond": 0.001, "abuse": { "maxViolations": 2, "banSeconds": 60 } },
          "abusive-shadow": { "capacity": 2, "refillPerSecond": 0.001, "shadow": true,
                              "abuse": { "maxViolations": 2, "banSeconds": 60 } },
          "user-wide": { "capacity": 1, "refillPerSecond": 0.001,
                         "abuse": { "maxViolations": 1, "banSeconds": 60, "scope": "user" } } } }
      """;
  private static final int CHECKS = 8;

  private static SluiceFixture sluice;

  @BeforeAll
  static void start(TestRedis redis) {
    // Redis is given 10 s, so that a caller's deadline of a few seconds is shorter than Redis's.
    sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("redisTimeoutMs", 10_000));
  }

  @AfterAll
  static void stop() throws Exception {
    sluice.close();
  }

  @Test
  void theChecksOfOneBucketInOneTurnShareOneRedisCallAndAreDecidedInOrder() {
    String user = newUser();
    double commands = sluice.counter(Metrics.REDIS_COMMANDS);
    double grouped = sluice.counter(Metrics.GROUPED_CHECKS);
    CheckBatchResponse batch = batch(0, Collections.nCopies(CHECKS, check(user, "api", 1)));

    assertThat(batch.getResultsList()).extracting(CheckResponse::getDecision)
        .containsExactly(Decision.ALLOW, Decision.ALLOW, Decision.ALLOW, Decision.ALLOW, Decision.ALLOW,
            Decision.DENY, Decision.DENY, Decision.DENY);
    assertThat(batch.getResultsList()).extracting(CheckResponse::getRemaining).containsExactly(4L, 3L, 2L, 1L, 0L, 0L, 0L, 0L);
    assertEquals(1, sluice.counter(Metrics.REDIS_COMMANDS) - commands, "the eight checks in one call");
    assertEquals(CHECKS, sluice.counter(Metrics.GROUPED_CHECKS) - grouped);
    assertEquals(0, sluice.check(user, "api").getRemaining(), "Redis kept the bucket the group left");
  }

  @Test
  void eachCheckOfAGroupTakesItsOwnCost() {
    String user = newUser();
    CheckBatchResponse batch = batch(0, List.of(check(user, "api", 1), check(user, "api", 2), check(user, "api", 3),
        check(user, "api", 2), check(user, "api", 1)));
    assertThat(batch.getResultsList()).extracting(CheckResponse::getDecision)
        .containsExactly(Decision.ALLOW, Decision.ALLOW, Decision.DENY, Decision.ALLOW, Decision.DENY);
    assertThat(batch.getResultsList()).extracting(CheckResponse::getRemaining).containsExactly(4L, 2L, 2L, 0L, 0L);
  }

  @ParameterizedTest
  @ValueSource(strings = {"api", "abusive", "abusive-shadow", "user-wide"})
  void aGroupDecidesAsTheSameChecksOneByOne(String action) {
    String grouped = newUser();
    String oneByOne = newUser();
    List<CheckResponse> together = batch(0, Collections.nCopies(CHECKS, check(grouped, action, 1))).getResultsList();
    List<CheckResponse> alone = new ArrayList<>();
    for (int i = 0; i < CHECKS; i++) {
      alone.add(sluice.check(oneByOne, action));
    }
    for (int i = 0; i < CHECKS; i++) {
      assertSameAnswer(alone.get(i), together.get(i), action + " check " + i);
    }
    if (!action.equals("api")) {
      assertThat(together).as("the ban made inside the group meets the checks after it")
          .anyMatch(response -> response.getDecision() == Decision.BAN || response.getShadowDecision() == Decision.BAN);
    }
  }

  @Test
  void theChecksOfDifferentUsersShareACallOfEightAtMost() {
    List<CheckRequest> checks = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      checks.add(check(newUser(), "api", 1));
    }
    double commands = sluice.counter(Metrics.REDIS_COMMANDS);
    double grouped = sluice.counter(Metrics.GROUPED_CHECKS);
    CheckBatchResponse batch = batch(0, checks);
    assertThat(batch.getResultsList()).extracting(CheckResponse::getRemaining).containsOnly(4L);
    assertEquals(3, sluice.counter(Metrics.REDIS_COMMANDS) - commands, "8 + 8 + 4 checks");
    assertEquals(20, sluice.counter(Metrics.GROUPED_CHECKS) - grouped);
  }

  /**
   * Users, rules and buckets mixed in one turn, a bucket coming back after others, a user-wide ban
   * made by one rule's check met by the same user's check of another rule later in the same call:
   * every answer equals the one the same sequence gets one check at a time.
   */
  @Test
  void aSharedCallDecidesAsTheSameChecksOneByOne() {
    int[] users = {0, 1, 0, 0, 1, 2, 1, 1, 2, 2, 1, 2, 0, 1, 2, 1, 3, 3, 0, 3, 3, 2, 1, 0};
    String[] actions = {"user-wide", "api", "user-wide", "api", "abusive", "abusive-shadow", "abusive", "abusive",
        "abusive-shadow", "abusive-shadow", "abusive", "abusive-shadow", "api", "api", "api", "abusive",
        "api", "user-wide", "api", "user-wide", "api", "abusive-shadow", "abusive", "user-wide"};
    String[] sharing = {newUser(), newUser(), newUser(), newUser()};
    String[] alone = {newUser(), newUser(), newUser(), newUser()};
    List<CheckRequest> checks = new ArrayList<>();
    for (int i = 0; i < users.length; i++) {
      checks.add(check(sharing[users[i]], actions[i], 1));
    }
    double commands = sluice.counter(Metrics.REDIS_COMMANDS);
    List<CheckResponse> together = batch(0, checks).getResultsList();
    assertEquals(3, sluice.counter(Metrics.REDIS_COMMANDS) - commands, "24 checks in three calls");
    for (int i = 0; i < users.length; i++) {
      assertSameAnswer(sluice.check(alone[users[i]], actions[i]), together.get(i), actions[i] + " check " + i);
    }
    assertThat(together.get(3).getDecision()).as("the user-wide ban made by check 2 meets check 3 in the same call")
        .isEqualTo(Decision.BAN);
  }

  @Test
  void aCallerWhoWaitsLessThanRedisIsGivenIsNeverGrouped() {
    String user = newUser();
    double commands = sluice.counter(Metrics.REDIS_COMMANDS);
    CheckBatchResponse batch = batch(5_000, Collections.nCopies(CHECKS, check(user, "api", 1)));
    assertThat(batch.getResultsList()).extracting(CheckResponse::getRemaining).containsExactly(4L, 3L, 2L, 1L, 0L, 0L, 0L, 0L);
    assertEquals(CHECKS, sluice.counter(Metrics.REDIS_COMMANDS) - commands, "one call each: the caller's deadline answers each");
  }

  private static void assertSameAnswer(CheckResponse expected, CheckResponse actual, String which) {
    assertEquals(expected.getDecision(), actual.getDecision(), which);
    assertEquals(expected.getShadowDecision(), actual.getShadowDecision(), which);
    assertEquals(expected.getRemaining(), actual.getRemaining(), which);
    assertEquals(expected.getViolations(), actual.getViolations(), which);
    assertEquals(expected.getBanLevel(), actual.getBanLevel(), which);
    assertEquals(expected.getBanScope(), actual.getBanScope(), which);
    assertEquals(expected.getBanReason(), actual.getBanReason(), which);
    assertEquals(expected.getShadow(), actual.getShadow(), which);
  }

  private static CheckBatchResponse batch(long timeoutMs, List<CheckRequest> checks) {
    return sluice.await(sluice.client().checkBatch(CheckBatchRequest.newBuilder().addAllChecks(checks).build(), timeoutMs));
  }

  private static CheckRequest check(String user, String action, int cost) {
    return CheckRequest.newBuilder().setUserId(user).setAction(action).setCost(cost).build();
  }

  private static String newUser() {
    return "grouped-" + UUID.randomUUID();
  }
}
