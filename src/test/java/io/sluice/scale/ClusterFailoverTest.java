package io.sluice.scale;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.support.Await;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.support.Traffic;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A Cluster master dies while checks run; its replica takes its slots over. */
class ClusterFailoverTest {

  private static final String LIMITS = "{ \"rules\": { \"default\": { \"capacity\": 1000000, \"refillPerSecond\": 1000 } } }";

  @Test
  void checksOutliveADeadMasterAndReachItsPromotedReplicaWithinTwoSeconds() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestRedis redis = TestRedis.cluster(3, 1);
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("redisTimeoutMs", 250))) {
      SluiceClient client = new SluiceClient(vertx, SocketAddress.inetSocketAddress(sluice.port(), "127.0.0.1"));
      CompletableFuture<List<Traffic.Answer>> traffic = CompletableFuture.supplyAsync(() -> Traffic.run(vertx, List.of(client),
          Traffic.Plan.steady(20, 14_000, 2).withTimeoutMs(2000),
          caller -> CheckRequest.newBuilder().setUserId("user-" + caller + "-" + UUID.randomUUID()).setAction("api").build()));
      Await.until("checks decided by redis", Duration.ofSeconds(10), () -> redis.calls("evalsha") > 100);

      int dead = redis.dataPorts().get(0);
      int survivor = redis.dataPorts().get(1);
      long killedNanos = System.nanoTime();
      redis.kill(dead);
      // Slot 0 was the dead master's.
      Await.until("the replica serving the dead master's slots", Duration.ofSeconds(30), () -> redis.clusterMasterOf(0, survivor) != dead);
      long promotedNanos = System.nanoTime();

      List<Traffic.Answer> answers = traffic.get(60, TimeUnit.SECONDS);
      long meanwhile = Traffic.count(answers, answer -> answer.sentNanos() > killedNanos && answer.sentNanos() < promotedNanos);
      // What a Cluster failover costs, for docs/scaling.md.
      System.out.printf("cluster failover (master killed): promoted after %d ms; %d checks, %d of them until the promotion, %d degraded%n",
          (promotedNanos - killedNanos) / 1_000_000, answers.size(), meanwhile, Traffic.count(answers, Traffic.Answer::degraded));
      System.out.println("cluster failover: degraded by reason " + answers.stream().filter(Traffic.Answer::degraded)
          .collect(java.util.stream.Collectors.groupingBy(answer -> answer.response().getDegradedReason(), java.util.stream.Collectors.counting())));
      assertEquals(0, Traffic.count(answers, answer -> answer.error() != null), "every check answered");
      long late = Traffic.count(answers, answer -> answer.sentNanos() > promotedNanos + 2_000_000_000L);
      assertThat(late).as("checks sent more than 2 s after the promotion").isGreaterThan(100);
      assertEquals(0, Traffic.count(answers, answer -> answer.sentNanos() > promotedNanos + 2_000_000_000L && answer.degraded()),
          "decided by the promoted replica, not by the failure mode");
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
