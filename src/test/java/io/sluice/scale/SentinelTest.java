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
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** A master watched by three sentinels, failed over while checks run. */
class SentinelTest {

  private static final String LIMITS = "{ \"rules\": { \"default\": { \"capacity\": 1000000, \"refillPerSecond\": 1000 } } }";

  @Test
  void checksFollowAFailoverAndAreDecidedByRedisAgainWithinTwoSecondsOfThePromotion() throws Exception {
    failOverUnderLoad("SENTINEL FAILOVER", redis -> redis.sentinel("FAILOVER", TestRedis.SENTINEL_MASTER));
  }

  /** The master dies: the failure mode answers until the sentinels agree it is down and promote the replica. */
  @Test
  void checksOutliveACrashedMasterAndAreDecidedByTheNewOneWithinTwoSecondsOfThePromotion() throws Exception {
    failOverUnderLoad("master killed", redis -> redis.kill(Integer.parseInt(redis.sentinelMaster().split(":")[1])));
  }

  private static void failOverUnderLoad(String how, Consumer<TestRedis> failOver) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestRedis redis = TestRedis.sentinel();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("redisTimeoutMs", 250))) {
      SluiceClient client = new SluiceClient(vertx, SocketAddress.inetSocketAddress(sluice.port(), "127.0.0.1"));
      CompletableFuture<List<Traffic.Answer>> traffic = CompletableFuture.supplyAsync(() -> Traffic.run(vertx, List.of(client),
          Traffic.Plan.steady(20, 10_000, 2).withTimeoutMs(2000),
          caller -> CheckRequest.newBuilder().setUserId("user-" + caller + "-" + UUID.randomUUID()).setAction("api").build()));
      Await.until("checks decided by redis", Duration.ofSeconds(10),
          () -> redis.calls("evalsha") > 100);

      String before = redis.sentinelMaster();
      long failedNanos = System.nanoTime();
      failOver.accept(redis);
      Await.until("the replica promoted", Duration.ofSeconds(20), () -> !redis.sentinelMaster().equals(before));
      long promotedNanos = System.nanoTime();

      List<Traffic.Answer> answers = traffic.get(60, TimeUnit.SECONDS);
      // What a failover costs, for docs/scaling.md.
      System.out.printf("sentinel failover (%s): promoted after %d ms; %d checks, %d degraded%n", how,
          (promotedNanos - failedNanos) / 1_000_000, answers.size(), Traffic.count(answers, Traffic.Answer::degraded));
      assertNotEquals(before, redis.sentinelMaster());
      assertEquals(0, Traffic.count(answers, answer -> answer.error() != null), "every check answered");
      long late = Traffic.count(answers, answer -> answer.sentNanos() > promotedNanos + 2_000_000_000L);
      assertThat(late).as("checks sent more than 2 s after the promotion").isGreaterThan(100);
      assertEquals(0, Traffic.count(answers, answer -> answer.sentNanos() > promotedNanos + 2_000_000_000L && answer.degraded()),
          "decided by the new master, not by the failure mode");
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
