package io.sluice.grpc;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.CheckBatchRequest;
import io.sluice.grpc.v1.CheckBatchResponse;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.telemetry.Metrics;
import io.vertx.grpc.common.GrpcStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.UUID;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RateLimiter/CheckBatch: a backend's several limits for one request, decided together. */
@ExtendWith(RedisExtension.class)
class CheckBatchTest {

  private static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 0.001 },
          "login": { "capacity": 3, "refillPerSecond": 0.001,
                     "abuse": { "maxViolations": 5, "banSeconds": 60 } },
          "ip": { "capacity": 5, "refillPerSecond": 0.001 },
          "tenant": { "capacity": 10, "refillPerSecond": 0.001 } } }
      """;

  private static SluiceFixture sluice;

  @BeforeAll
  static void start(TestRedis redis) {
    sluice = SluiceFixture.start(redis.uri(), LIMITS);
  }

  @AfterAll
  static void stop() throws Exception {
    sluice.close();
  }

  @Test
  void answersEveryCheckInTheOrderAsked() {
    String user = newId();
    CheckBatchResponse batch = batch(false, check(user, "login", 1), check("ip-" + user, "ip", 2), check("acme-" + user, "tenant", 3));
    assertEquals(Decision.ALLOW, batch.getDecision());
    assertThat(batch.getResultsList()).extracting(CheckResponse::getRule).containsExactly("login", "ip", "tenant");
    assertThat(batch.getResultsList()).extracting(CheckResponse::getRemaining).containsExactly(2L, 3L, 7L);
    assertThat(batch.getResultsList()).noneMatch(CheckResponse::getGivenBack);
  }

  @Test
  void allOrNothingTakesNoTokenWhenOneCheckIsRefused() {
    String user = newId();
    String ip = "ip-" + user;
    assertEquals(Decision.ALLOW, sluice.check(ip, "ip", 5).getDecision());

    CheckBatchResponse batch = batch(true, check(user, "tenant", 4), check(ip, "ip", 1), check(user, "login", 2));
    assertEquals(Decision.DENY, batch.getDecision(), "the ip is out of tokens");
    CheckResponse tenant = batch.getResults(0);
    assertEquals(Decision.ALLOW, tenant.getDecision());
    assertTrue(tenant.getGivenBack());
    assertEquals(10, tenant.getRemaining(), "its tokens are back");
    assertEquals(Decision.DENY, batch.getResults(1).getDecision());
    assertFalse(batch.getResults(1).getGivenBack());
    assertTrue(batch.getResults(2).getGivenBack());

    assertEquals(Decision.ALLOW, sluice.check(user, "tenant", 10).getDecision(), "all ten tokens were there");
    CheckResponse login = sluice.check(user, "login", 3);
    assertEquals(Decision.ALLOW, login.getDecision(), "and login's three");
    assertEquals(0, login.getRemaining());
  }

  @Test
  void aRefusalCachedBeforeTokensWereGivenBackDoesNotOutliveThem() {
    String user = newId();
    // The second check is refused (4 left of 10, at a refill of one token in 1,000 s): a certain
    // refusal, cached; then the first check's 6 tokens are given back, and the bucket holds 10.
    CheckBatchResponse batch = batch(true, check(user, "tenant", 6), check(user, "tenant", 6));
    assertEquals(Decision.DENY, batch.getDecision());
    assertTrue(batch.getResults(0).getGivenBack());

    CheckResponse after = sluice.check(user, "tenant", 6);
    assertEquals(Decision.ALLOW, after.getDecision(), "the tokens were given back: " + after);
    assertEquals(4, after.getRemaining());
  }

  @Test
  void withoutAllOrNothingTheAllowedChecksKeepTheirTokens() {
    String user = newId();
    String ip = "ip-" + user;
    sluice.check(ip, "ip", 5);
    CheckBatchResponse batch = batch(false, check(user, "tenant", 4), check(ip, "ip", 1));
    assertEquals(Decision.DENY, batch.getDecision());
    assertEquals(6, batch.getResults(0).getRemaining());
    assertEquals(5, sluice.check(user, "tenant", 1).getRemaining());
  }

  @Test
  void aRefusalInABatchCountsTowardABanAsAnyOther() {
    String user = newId();
    sluice.check(user, "login", 3);
    CheckBatchResponse batch = batch(true, check(user, "tenant", 1), check(user, "login", 1));
    assertEquals(1, batch.getResults(1).getViolations());
    assertEquals(2, sluice.check(user, "login").getViolations());
  }

  @Test
  void oneBadCheckRefusesTheWholeBatchNamingItAndTakesNothing() {
    String user = newId();
    CallFailedException refused = assertThrows(CallFailedException.class,
        () -> batch(false, check(user, "tenant", 4), check(user, "", 1)));
    assertEquals(GrpcStatus.INVALID_ARGUMENT, refused.status());
    assertThat(refused.getMessage()).contains("checks[1].action must be 1 to 256 bytes");
    assertEquals(9, sluice.check(user, "tenant").getRemaining(), "the good check took nothing");

    CallFailedException tooCostly = assertThrows(CallFailedException.class, () -> batch(false, check(user, "ip", 6)));
    assertThat(tooCostly.getMessage()).contains("checks[0].cost must be from 0 to the capacity of rule 'ip' (5), was 6");

    assertThat(assertThrows(CallFailedException.class, () -> batch(false)).getMessage())
        .contains("checks must hold 1 to 100 checks, was 0");
    CheckRequest[] tooMany = IntStream.range(0, 101).mapToObj(i -> check(user, "tenant", 1)).toArray(CheckRequest[]::new);
    assertThat(assertThrows(CallFailedException.class, () -> batch(false, tooMany)).getMessage())
        .contains("checks must hold 1 to 100 checks, was 101");
  }

  @Test
  void aHundredChecksLeaveForRedisInOneWrite() {
    CheckRequest[] hundred = IntStream.range(0, 100).mapToObj(i -> check(newId(), "tenant", 1)).toArray(CheckRequest[]::new);
    double writes = sluice.counter(Metrics.REDIS_WRITES);
    double commands = sluice.counter(Metrics.REDIS_COMMANDS);
    double checks = sluice.counter(Metrics.REDIS_CHECKS_WRITTEN);
    CheckBatchResponse batch = batch(false, hundred);
    assertEquals(Decision.ALLOW, batch.getDecision());
    assertEquals(100, batch.getResultsCount());
    assertEquals(1, sluice.counter(Metrics.REDIS_WRITES) - writes, "one round trip");
    assertEquals(100, sluice.counter(Metrics.REDIS_CHECKS_WRITTEN) - checks);
    assertEquals(13, sluice.counter(Metrics.REDIS_COMMANDS) - commands, "calls of 8 checks");
  }

  private static CheckBatchResponse batch(boolean allOrNothing, CheckRequest... checks) {
    return sluice.await(sluice.client().checkBatch(CheckBatchRequest.newBuilder()
        .setAllOrNothing(allOrNothing).addAllChecks(java.util.List.of(checks)).build()));
  }

  private static CheckRequest check(String user, String action, int cost) {
    return CheckRequest.newBuilder().setUserId(user).setAction(action).setCost(cost).build();
  }

  private static String newId() {
    return "batch-" + UUID.randomUUID();
  }
}
