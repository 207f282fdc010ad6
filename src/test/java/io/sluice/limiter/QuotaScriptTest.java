package io.sluice.limiter;

import io.sluice.redis.LuaScript;
import io.sluice.redis.RedisKeys;
import io.sluice.support.RedisExtension;
import io.sluice.support.TestRedis;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Response;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * lua/token_bucket.lua's quota, called as the instances call it but with boundaries of the test's
 * making: Redis's clock, not the instance's, picks the period among the four given (an instance a
 * little behind or ahead of Redis counts in Redis's period), and quota segments of 4 and 6 keys are
 * laid out right in a batch.
 */
@ExtendWith(RedisExtension.class)
class QuotaScriptTest {

  private static final LuaScript SCRIPT = LuaScript.load("token_bucket");
  private static TestRedis redis;

  @BeforeAll
  static void redis(TestRedis testRedis) {
    redis = testRedis;
  }

  private static long redisNowMs() {
    Response time = redis.command(Command.TIME);
    return time.get(0).toLong() * 1000 + time.get(1).toLong() / 1000;
  }

  private static List<Object> quotaArgs(long limit, long... starts) {
    List<Object> args = new ArrayList<>(List.of(limit));
    for (long start : starts) {
      args.add(start);
    }
    args.add(0L);
    args.add("0");
    return args;
  }

  private static Response eval(String[] keys, List<Object> args) {
    List<Object> all = new ArrayList<>();
    all.add(SCRIPT.source());
    all.add(keys.length);
    all.addAll(List.of((Object[]) keys));
    all.addAll(args);
    return redis.command(Command.EVAL, all.toArray());
  }

  private static Response check(String user, long... starts) {
    String[] keys = RedisKeys.forCheck(user, "q", false, false, false, true);
    List<Object> args = new ArrayList<>(List.of(10L, 1000.0, 1L));
    args.addAll(quotaArgs(100, starts));
    return eval(keys, args);
  }

  @Test
  void redissClockPicksThePeriodWhateverTheInstancesClockThought() {
    long now = redisNowMs();
    String user = "picked-" + UUID.randomUUID();
    // The instance thought so too: its period holds Redis's now.
    Response same = check(user, now - 120_000, now - 60_000, now + 60_000, now + 120_000);
    assertThat(same.get(15).toLong()).isBetween(55_000L, 60_000L);
    assertEquals(String.valueOf(now - 60_000), redis.command(Command.HGET, RedisKeys.quota(user, "q"), "start").toString());

    // The instance is behind: it thought the period that has just ended was still on.
    String behind = "behind-" + UUID.randomUUID();
    Response next = check(behind, now - 120_000, now - 60_000, now - 1_000, now + 50_000);
    assertThat(next.get(15).toLong()).as("counted in the period Redis is in").isBetween(45_000L, 50_000L);
    assertEquals(String.valueOf(now - 1_000), redis.command(Command.HGET, RedisKeys.quota(behind, "q"), "start").toString());

    // The instance is ahead: it thinks the next period began already.
    String ahead = "ahead-" + UUID.randomUUID();
    Response previous = check(ahead, now - 1_000, now + 10_000, now + 70_000, now + 130_000);
    assertThat(previous.get(15).toLong()).isBetween(5_000L, 10_000L);
    assertEquals(String.valueOf(now - 1_000), redis.command(Command.HGET, RedisKeys.quota(ahead, "q"), "start").toString());
    assertThat(redis.command(Command.PTTL, RedisKeys.quota(ahead, "q")).toLong()).isBetween(5_000L, 10_000L);

    // Another instance, in step with Redis, counts in the same period: the use carries over.
    Response inStep = check(ahead, now - 60_000, now - 1_000, now + 10_000, now + 70_000);
    assertEquals(98, inStep.get(14).toLong(), "one period, whichever instance's calendar");
  }

  @Test
  void quotaSegmentsOfFourAndSixKeysShareABatch() {
    long now = redisNowMs();
    String user = "batched-" + UUID.randomUUID();
    String[] abusive = RedisKeys.forCheck(user, "guarded", true, false, false, true);
    String[] plain = RedisKeys.forCheck(user, "q", false, false, false, true);
    assertEquals(6, abusive.length);
    assertEquals(4, plain.length);
    String[] keys = new String[10];
    System.arraycopy(abusive, 0, keys, 0, 6);
    System.arraycopy(plain, 0, keys, 6, 4);
    long[] starts = {now - 120_000, now - 60_000, now + 60_000, now + 120_000};
    List<Object> args = new ArrayList<>(List.of("batch", "64"));
    args.addAll(List.of(5L, 1000.0, "1 1 ", 3L, 60_000L, 60_000L, 2.0, 3_600_000L, 86_400_000L, "action", "guarded", user, "guarded"));
    args.addAll(quotaArgs(1, starts));
    args.addAll(List.of(10L, 1000.0, 2L));
    args.addAll(quotaArgs(7, starts));
    Response replies = eval(keys, args);
    assertEquals(3, replies.size(), "two checks of the first bucket, one of the second");
    assertEquals(1, replies.get(0).get(0).toInteger());
    assertEquals(0, replies.get(0).get(14).toLong(), "the quota of 1 used");
    assertEquals(0, replies.get(1).get(0).toInteger(), "the second check of the bucket meets the spent quota");
    assertEquals("quota", replies.get(1).get(13).toString());
    assertEquals(4, replies.get(1).get(1).toLong(), "and took no token");
    assertEquals(1, replies.get(2).get(0).toInteger());
    assertEquals(16, replies.get(2).size());
    assertEquals(5, replies.get(2).get(14).toLong(), "7 less the cost of 2, read at its own offset");
    assertEquals("2", redis.command(Command.HGET, RedisKeys.quota(user, "q"), "used").toString());
  }
}
