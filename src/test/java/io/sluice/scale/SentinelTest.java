package io.sluice.scale;

import io.sluice.grpc.v1.Decision;
import io.sluice.limits.LimitsStore;
import io.sluice.redis.RedisKeys;
import io.sluice.support.Await;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** A master watched by three sentinels, failed over while checks run. */
class SentinelTest {

  @Test
  void checksFollowAFailoverAndAreDecidedByRedisAgainWithinTwoSecondsOfThePromotion() throws Exception {
    failOverUnderLoad("sentinel failover (SENTINEL FAILOVER)", redis -> redis.sentinel("FAILOVER", TestRedis.SENTINEL_MASTER));
  }

  /** The master dies: the failure mode answers until the sentinels agree it is down and promote the replica. */
  @Test
  void checksOutliveACrashedMasterAndAreDecidedByTheNewOneWithinTwoSecondsOfThePromotion() throws Exception {
    failOverUnderLoad("sentinel failover (master killed)", redis -> redis.kill(Integer.parseInt(redis.sentinelMaster().split(":")[1])));
  }

  /**
   * Admin changes and published limits go where the checks go: the process has one Sentinel
   * follower (redis/SentinelTopology), which its vertx-redis-client clients follow too.
   */
  @Test
  void adminChangesAndPublishedLimitsGoToTheMasterTheChecksFollow() throws Exception {
    try (TestRedis redis = TestRedis.sentinel();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), FailoverUnderLoad.LIMITS, new JsonObject().put("redisTimeoutMs", 250))
             .awaitSubscribed()) {
      String before = redis.sentinelMaster();
      redis.sentinel("FAILOVER", TestRedis.SENTINEL_MASTER);
      Await.until("the sentinels to promote the replica", Duration.ofSeconds(30), () -> !redis.sentinelMaster().equals(before));
      int promoted = Integer.parseInt(redis.sentinelMaster().split(":")[1]);
      int demoted = Integer.parseInt(before.split(":")[1]);
      // Until the old master is a replica it takes writes that the promoted one never sees (any client's, in any failover).
      Await.until("the old master to be a replica", Duration.ofSeconds(30),
          () -> {
            try {
              return "slave".equals(redis.commandOn(demoted, Command.ROLE).get(0).toString());
            } catch (IllegalStateException closedByTheRoleChange) {
              return false;
            }
          });

      String user = "after-failover-" + UUID.randomUUID();
      // Until the instance has seen the promotion, the old master refuses writes (READONLY): retried.
      Await.until("a ban made through the admin API", Duration.ofSeconds(10), () -> {
        try {
          sluice.await(sluice.client().ban(user, "", 600, "after the failover"));
          return true;
        } catch (RuntimeException notYet) {
          return false;
        }
      });
      assertEquals(1, redis.commandOn(promoted, Command.EXISTS, RedisKeys.ban(user, "")).toInteger(), "the ban is on the promoted master");
      assertEquals(Decision.BAN, sluice.check(user, "anything").getDecision());

      Vertx vertx = Vertx.vertx();
      Redis publisher = Redis.createClient(vertx, redis.options());
      try {
        LimitsStore.publish(vertx, publisher, "{\"rules\": {\"login\": {\"capacity\": 7, \"refillPerSecond\": 1}}}",
            new JsonObject(FailoverUnderLoad.LIMITS), 5000).await(10, TimeUnit.SECONDS);
        Await.until("the published change applied", Duration.ofSeconds(10), () -> sluice.check("p-" + UUID.randomUUID(), "login").getLimit() == 7);
      } finally {
        publisher.close();
        vertx.close().await(10, TimeUnit.SECONDS);
      }
    }
  }

  private static void failOverUnderLoad(String what, Consumer<TestRedis> failOver) throws Exception {
    try (TestRedis redis = TestRedis.sentinel();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), FailoverUnderLoad.LIMITS, new JsonObject().put("redisTimeoutMs", 250))) {
      String before = redis.sentinelMaster();
      FailoverUnderLoad run = FailoverUnderLoad.run(redis, sluice, 10_000, () -> failOver.accept(redis),
          () -> !redis.sentinelMaster().equals(before));
      run.print(what);
      assertNotEquals(before, redis.sentinelMaster());
      run.assertEveryCheckAnsweredAndDecidedByRedisWithinTwoSecondsOfThePromotion();
    }
  }
}
