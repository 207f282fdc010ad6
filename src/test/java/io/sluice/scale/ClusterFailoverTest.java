package io.sluice.scale;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcStatus;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A Cluster master dies while checks run (its replica takes its slots over), or hangs while an operator lists bans. */
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

  /** `sluice bans` with one master hung names that master instead of failing without a word. */
  @Test
  void aListingOfBansWithOneMasterHungSaysWhichMasterDidNotAnswer() throws Exception {
    try (TestRedis redis = TestRedis.cluster(3);
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), FailoverUnderLoad.LIMITS, new JsonObject().put("adminTimeoutMs", 1000))) {
      sluice.await(sluice.client().listBans(""));
      int hung = redis.dataPorts().get(1);
      redis.pause(hung);
      CallFailedException listing;
      try {
        listing = assertThrows(CallFailedException.class, () -> sluice.client().listBans("").await(10, TimeUnit.SECONDS));
      } finally {
        redis.resume(hung);
      }
      assertEquals(GrpcStatus.UNAVAILABLE, listing.status());
      assertThat(listing.getMessage()).contains("Redis did not answer within 1000 ms (adminTimeoutMs): the bans could not be listed "
          + "(the master at 127.0.0.1:" + hung + " did not answer)");
      assertThat(sluice.await(sluice.client().listBans("")).getBansList()).as("listed again once it answers").isNotNull();
    }
  }
}
