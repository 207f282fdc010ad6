package io.sluice.limits;

import io.sluice.grpc.v1.CheckBatchRequest;
import io.sluice.grpc.v1.CheckBatchResponse;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.limiter.QuotaClock;
import io.sluice.redis.RedisKeys;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Calendar quotas, stacked on the bucket: counted in the check's own script call on Redis's clock,
 * reset at the first instant of the period in the rule's timezone. The calendar is driven by the
 * quota clock's offset (a test's only), added to Redis's clock in the script and to the instances'.
 */
@ExtendWith(RedisExtension.class)
class QuotasTest {

  static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 10 },
          "monthly": { "capacity": 10, "refillPerSecond": 1000,
                       "quota": { "limit": 10, "period": "month", "timezone": "Europe/Berlin" } },
          "daily": { "capacity": 5, "refillPerSecond": 1000, "quota": { "limit": 5, "period": "day", "timezone": "Europe/Berlin" } },
          "weekly": { "capacity": 5, "refillPerSecond": 1000, "quota": { "limit": 5, "period": "week" } },
          "bursty": { "capacity": 50, "refillPerSecond": 0.001, "quota": { "limit": 80, "period": "day" } },
          "allowance": { "capacity": 100, "refillPerSecond": 0.001, "quota": { "limit": 60, "period": "day" } },
          "guarded": { "capacity": 1, "refillPerSecond": 1000, "quota": { "limit": 1, "period": "day" },
                       "abuse": { "maxViolations": 2, "windowSeconds": 60, "banSeconds": 60 } },
          "strict": { "capacity": 1, "refillPerSecond": 1000, "quota": { "limit": 1, "period": "day", "countsTowardBans": true },
                      "abuse": { "maxViolations": 2, "windowSeconds": 60, "banSeconds": 60 } },
          "scarce": { "capacity": 1, "refillPerSecond": 0.001 } } }
      """;

  /** The quota clock's offset: set so that the quotas' now is an instant of the test's choosing. */
  private final AtomicLong offset = new AtomicLong();
  private final QuotaClock clock = new QuotaClock(System::currentTimeMillis, offset::get);

  private void travelTo(String instant) {
    offset.set(ZonedDateTime.parse(instant).toInstant().toEpochMilli() - System.currentTimeMillis());
  }

  @Test
  void aMonthlyQuotaResetsAtMidnightOfTheFirstInItsTimezoneAcrossFebruary(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS, clock);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS, clock)) {
      String user = "monthly-" + UUID.randomUUID();
      // A minute before February in Berlin: 22:59 UTC, so a UTC calendar would be a day wrong.
      travelTo("2027-01-31T23:59:00+01:00[Europe/Berlin]");
      for (int i = 0; i < 10; i++) {
        CheckResponse allowed = (i % 2 == 0 ? a : b).check(user, "monthly");
        assertEquals(Decision.ALLOW, allowed.getDecision());
        assertEquals(9 - i, allowed.getQuotaRemaining());
      }
      CheckResponse spent = a.check(user, "monthly");
      assertEquals(Decision.DENY, spent.getDecision());
      assertEquals("quota", spent.getLimitedBy());
      assertEquals(10, spent.getQuotaLimit());
      assertEquals(0, spent.getQuotaRemaining());
      assertThat(spent.getRetryAfterMs()).as("until February").isBetween(50_000L, 60_000L);
      assertThat(spent.getQuotaResetAfterMs()).isEqualTo(spent.getRetryAfterMs());
      assertThat(redis.command(Command.PTTL, RedisKeys.quota(user, "monthly")).toLong()).as("the count ends with its month")
          .isBetween(50_000L, 60_000L);

      travelTo("2027-02-01T00:00:01+01:00[Europe/Berlin]");
      CheckResponse february = b.check(user, "monthly");
      assertEquals(Decision.ALLOW, february.getDecision(), "a new month, on the other instance too");
      assertEquals(9, february.getQuotaRemaining());
      // February has 28 days: its end is 27 days, 23 hours, 59 minutes, 59 seconds away.
      assertThat(february.getQuotaResetAfterMs()).isBetween(Duration.ofDays(28).minusSeconds(10).toMillis(),
          Duration.ofDays(28).minusSeconds(1).toMillis());

      travelTo("2027-02-28T23:59:50+01:00[Europe/Berlin]");
      for (int i = 0; i < 9; i++) {
        assertEquals(Decision.ALLOW, a.check(user, "monthly").getDecision());
      }
      assertEquals("quota", a.check(user, "monthly").getLimitedBy(), "February's ten, used on its last day");
      travelTo("2027-03-01T00:00:00.500+01:00[Europe/Berlin]");
      CheckResponse march = a.check(user, "monthly");
      assertEquals(Decision.ALLOW, march.getDecision(), "March begins at midnight of the 1st");
      assertEquals(9, march.getQuotaRemaining());
    }
  }

  @Test
  void aDailyQuotaKnowsDaysOf23And25HoursAndWeeksStartOnMonday(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS, clock)) {
      // Berlin springs forward on 2027-03-28: that day has 23 hours.
      travelTo("2027-03-28T00:00:30+01:00[Europe/Berlin]");
      CheckResponse spring = a.check("dst-" + UUID.randomUUID(), "daily");
      assertThat(spring.getQuotaResetAfterMs()).isBetween(Duration.ofHours(23).minusSeconds(40).toMillis(),
          Duration.ofHours(23).minusSeconds(29).toMillis());
      // And falls back on 2027-10-31: 25 hours.
      travelTo("2027-10-31T00:00:30+02:00[Europe/Berlin]");
      CheckResponse autumn = a.check("dst-" + UUID.randomUUID(), "daily");
      assertThat(autumn.getQuotaResetAfterMs()).isBetween(Duration.ofHours(25).minusSeconds(40).toMillis(),
          Duration.ofHours(25).minusSeconds(29).toMillis());

      // 2027-12-05 is a Sunday: the week (UTC, the default timezone) ends at the next midnight.
      travelTo("2027-12-05T12:00:00Z");
      String user = "weekly-" + UUID.randomUUID();
      CheckResponse sunday = a.check(user, "weekly");
      assertThat(sunday.getQuotaResetAfterMs()).isBetween(Duration.ofHours(12).minusSeconds(10).toMillis(),
          Duration.ofHours(12).toMillis());
      travelTo("2027-12-06T00:00:01Z");
      assertEquals(4, a.check(user, "weekly").getQuotaRemaining(), "Monday: a new week");
    }
  }

  @Test
  void stackedLimitsUnderConcurrencyTakeFromBothOrNeither(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS, clock);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS, clock)) {
      // The bucket refuses first: 50 of 200, and the quota counts only those 50.
      String bursty = "bursty-" + UUID.randomUUID();
      List<CheckResponse> first = concurrently(a, b, bursty, "bursty", 200);
      assertEquals(50, first.stream().filter(r -> r.getDecision() == Decision.ALLOW).count());
      assertThat(first.stream().filter(r -> r.getDecision() == Decision.DENY).map(CheckResponse::getLimitedBy)).containsOnly("rate");
      assertEquals("50", redis.command(Command.HGET, RedisKeys.quota(bursty, "bursty"), "used").toString(),
          "no quota taken by a check the bucket refused");

      // The quota refuses first: 60 of 200, and the bucket keeps what the refused ones did not take.
      String allowance = "allowance-" + UUID.randomUUID();
      List<CheckResponse> second = concurrently(a, b, allowance, "allowance", 200);
      assertEquals(60, second.stream().filter(r -> r.getDecision() == Decision.ALLOW).count());
      assertThat(second.stream().filter(r -> r.getDecision() == Decision.DENY).map(CheckResponse::getLimitedBy)).containsOnly("quota");
      double tokens = Double.parseDouble(redis.command(Command.HGET, RedisKeys.bucket(allowance, "allowance"), "tokens").toString());
      assertThat(tokens).as("no token taken by a check the quota refused").isBetween(40.0, 40.1);
      String metric = io.sluice.telemetry.Metrics.REFUSALS;
      assertEquals(150, a.counter(metric, "rule", "bursty", "limited_by", "rate") + b.counter(metric, "rule", "bursty", "limited_by", "rate"),
          "refusals counted by the kind of limit that refused");
      assertEquals(140, a.counter(metric, "rule", "allowance", "limited_by", "quota")
          + b.counter(metric, "rule", "allowance", "limited_by", "quota"));
      assertEquals(0, a.counter(metric, "rule", "allowance", "limited_by", "rate") + b.counter(metric, "rule", "allowance", "limited_by", "rate"));
    }
  }

  private static List<CheckResponse> concurrently(SluiceFixture a, SluiceFixture b, String user, String action, int callers)
      throws Exception {
    List<Future<CheckResponse>> answers = new ArrayList<>(callers);
    for (int i = 0; i < callers; i++) {
      answers.add((i % 2 == 0 ? a : b).client().check(user, action, 1));
    }
    Future.all(answers).await(30, java.util.concurrent.TimeUnit.SECONDS);
    return answers.stream().map(Future::result).toList();
  }

  @Test
  void aSpentQuotaIsNoAbuseUnlessTheRuleSaysSo(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS, clock)) {
      String user = "spender-" + UUID.randomUUID();
      assertEquals(Decision.ALLOW, a.check(user, "guarded").getDecision());
      for (int i = 0; i < 4; i++) {
        CheckResponse refused = a.check(user, "guarded");
        assertEquals(Decision.DENY, refused.getDecision(), "a spent quota is a refusal, never a ban");
        assertEquals(0, refused.getViolations());
      }
      String abuser = "abuser-" + UUID.randomUUID();
      assertEquals(Decision.ALLOW, a.check(abuser, "strict").getDecision());
      assertEquals(Decision.DENY, a.check(abuser, "strict").getDecision());
      assertEquals(Decision.BAN, a.check(abuser, "strict").getDecision(), "countsTowardBans: the second refusal bans");
    }
  }

  @Test
  void anAllOrNothingBatchGivesTheQuotaBackToo(TestRedis redis) throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS, clock)) {
      String user = "batched-" + UUID.randomUUID();
      assertEquals(Decision.ALLOW, a.check(user, "scarce").getDecision());
      CheckBatchResponse batch = a.await(a.client().checkBatch(CheckBatchRequest.newBuilder().setAllOrNothing(true)
          .addChecks(CheckRequest.newBuilder().setUserId(user).setAction("daily"))
          .addChecks(CheckRequest.newBuilder().setUserId(user).setAction("scarce")).build()));
      assertEquals(Decision.DENY, batch.getDecision());
      assertThat(batch.getResults(0).getGivenBack()).isTrue();
      assertEquals("0", redis.command(Command.HGET, RedisKeys.quota(user, "daily"), "used").toString(), "the quota's use given back");
      assertEquals(4, a.check(user, "daily").getQuotaRemaining());
    }
  }
}
