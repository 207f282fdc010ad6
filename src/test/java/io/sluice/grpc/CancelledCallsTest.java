package io.sluice.grpc;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.grpc.v1.RateLimiterGrpcClient;
import io.sluice.support.Await;
import io.sluice.support.Http;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.support.LogCapture;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Callers that give up while their checks wait for Redis: a client-side deadline or a cancelled
 * request resets the stream (RST_STREAM), and Sluice's answer has nowhere to go. Nothing else may
 * change: the other checks on the same connection are answered, each with its own decision,
 * nothing stays in flight, and the calls given up are counted. (Before: the write to a reset stream threw into the read of Redis's
 * replies, the replies read with it were dropped, later ones went to the wrong checks, and the
 * checks left unanswered held their place in flight for good.)
 */
class CancelledCallsTest {

  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 10, "refillPerSecond": 0.001 } } }""";
  private static final int CALLERS = 5;

  private LogCapture logs;

  @BeforeEach
  void captureLogs() {
    logs = LogCapture.root();
  }

  @AfterEach
  void releaseLogs() {
    logs.close();
  }

  @Test
  void callsCancelledWhileRedisHangsChangeNothingForTheOthers() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestRedis redis = TestRedis.startOwn(); SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      GrpcClient client = GrpcClient.client(vertx);
      SocketAddress target = SocketAddress.inetSocketAddress(sluice.port(), "127.0.0.1");
      // Buckets drained to different levels, so that an answer given to the wrong check would show.
      for (int i = 0; i < CALLERS; i++) {
        for (int taken = 0; taken <= i; taken++) {
          check(client, target, "kept-" + i).await(10, TimeUnit.SECONDS);
        }
      }

      redis.pause();
      List<GrpcClientRequest<CheckRequest, CheckResponse>> givenUp = new ArrayList<>();
      List<Future<CheckResponse>> kept = new ArrayList<>();
      for (int i = 0; i < CALLERS; i++) {
        GrpcClientRequest<CheckRequest, CheckResponse> call = client.request(target, RateLimiterGrpcClient.Check).await(10, TimeUnit.SECONDS);
        call.end(request("gone-" + i));
        givenUp.add(call);
        kept.add(check(client, target, "kept-" + i));
      }
      Await.until("every check to reach the instance", Duration.ofSeconds(10), () -> sluice.sluice().health().inFlight() == 2 * CALLERS);
      givenUp.forEach(GrpcClientRequest::cancel);
      // The resets must reach the instance before Redis's replies do: that is the case under test.
      Await.until("the instance to see the calls given up", Duration.ofSeconds(10), () -> abandoned(sluice) == CALLERS);
      redis.resume();

      for (int i = 0; i < CALLERS; i++) {
        CheckResponse answer = kept.get(i).await(10, TimeUnit.SECONDS);
        assertEquals(Decision.ALLOW, answer.getDecision(), "kept-" + i);
        assertEquals(10 - (i + 2), answer.getRemaining(), "kept-" + i + "'s own bucket, after " + (i + 1) + " checks before");
      }
      Await.until("nothing left in flight", Duration.ofSeconds(10), () -> sluice.sluice().health().inFlight() == 0);
      assertEquals(CALLERS, abandoned(sluice), "each call given up counted once, its late answer not again");
      // The same connection, still in step: a check now is answered from its own bucket (kept-1's fourth).
      assertEquals(10 - 4, check(client, target, "kept-1").await(10, TimeUnit.SECONDS).getRemaining());
      assertEquals(10 - 2, check(client, target, "gone-0").await(10, TimeUnit.SECONDS).getRemaining(),
          "a cancelled check still took its token: Redis had it before the caller gave up");
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
    assertThat(logs.events()).filteredOn(event -> event.getLevel() == Level.ERROR)
        .extracting(ILoggingEvent::getFormattedMessage).isEmpty();
  }

  private static double abandoned(SluiceFixture sluice) {
    return Http.metric(sluice.sluice().metrics().scrape(), "sluice_calls_abandoned_total", "method=\"sluice.v1.RateLimiter/Check\"");
  }

  private static Future<CheckResponse> check(GrpcClient client, SocketAddress target, String userId) {
    return client.request(target, RateLimiterGrpcClient.Check)
        .compose(call -> call.end(request(userId)).compose(sent -> call.response()))
        .compose(response -> response.last());
  }

  private static CheckRequest request(String userId) {
    return CheckRequest.newBuilder().setUserId(userId).setAction("api").build();
  }
}
