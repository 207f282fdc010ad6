package io.sluice.scale;

import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.function.Consumer;

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
