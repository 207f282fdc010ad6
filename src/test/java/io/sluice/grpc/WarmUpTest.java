package io.sluice.grpc;

import io.sluice.grpc.v1.Decision;
import io.sluice.support.LogCapture;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An instance warms itself up before its port listens, on a server of its own that only it can use,
 * and nothing of it shows: not in metrics, not in Redis, not to a caller.
 */
class WarmUpTest {

  private static final String LIMITS = "{\"rules\": {\"default\": {\"capacity\": 5, \"refillPerSecond\": 1}}}";

  @Test
  void anInstanceWarmsUpBeforeItListensAndNothingOfItShows() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         LogCapture log = LogCapture.of(WarmUp.class);
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("warmUpCalls", 1000))) {
      assertThat(log.said("warmed up with 1000 calls over 10 connections")).as("the warm-up ran to its end").isTrue();
      assertEquals(0, sluice.counter(Metrics.STREAMS_REFUSED), "the warm-up's refused streams are not the instance's");
      assertThat(sluice.sluice().metrics().registry().find(Metrics.DECISIONS).counters()).as("nor its calls").isEmpty();
      assertThat(redis.keys()).as("its calls wrote nothing to Redis").noneMatch(key -> key.startsWith("rate_limit:"));
      assertEquals(Decision.ALLOW, sluice.check("alice", "login").getDecision());
    }
  }

  @Test
  void aWarmUpServerServesOnlyCallsThatCarryItsSecret() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      HttpServer server = vertx.createHttpServer()
          .requestHandler(WarmUp.onlyWith("the-secret", request -> request.response().end("served")));
      server.listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
      var client = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
      HttpClientResponse stranger = client.request(HttpMethod.POST, server.actualPort(), "127.0.0.1", "/sluice.v1.RateLimiter/Check")
          .compose(request -> request.send()).await(5, TimeUnit.SECONDS);
      HttpClientResponse itself = client.request(HttpMethod.POST, server.actualPort(), "127.0.0.1", "/sluice.v1.RateLimiter/Check")
          .compose(request -> request.putHeader(WarmUp.SECRET_HEADER, "the-secret").send()).await(5, TimeUnit.SECONDS);

      assertEquals(403, stranger.statusCode(), "a call without the secret");
      assertEquals(200, itself.statusCode(), "a call with it");
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
