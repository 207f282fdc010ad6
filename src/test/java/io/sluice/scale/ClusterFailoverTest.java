package io.sluice.scale;

import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** A Cluster master dies while checks run; its replica takes its slots over. */
class ClusterFailoverTest {

  @Test
  void checksOutliveADeadMasterAndReachItsPromotedReplicaWithinTwoSeconds() throws Exception {
    try (TestRedis redis = TestRedis.cluster(3, 1);
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), FailoverUnderLoad.LIMITS, new JsonObject().put("redisTimeoutMs", 250))) {
      int dead = redis.dataPorts().get(0);
      int survivor = redis.dataPorts().get(1);
      // Slot 0 was the dead master's.
      FailoverUnderLoad run = FailoverUnderLoad.run(redis, sluice, 14_000, () -> redis.kill(dead),
          () -> redis.clusterMasterOf(0, survivor) != dead);
      run.print("cluster failover (master killed)");
      run.assertEveryCheckAnsweredAndDecidedByRedisWithinTwoSecondsOfThePromotion();
    }
  }
}
