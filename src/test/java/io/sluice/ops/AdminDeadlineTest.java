package io.sluice.ops;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.redis.RedisKeys;
import io.sluice.support.Await;
import io.sluice.support.Cli;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * An operator's ban or unban while Redis hangs or is gone: answered within adminTimeoutMs, saying
 * whether it may have been made. Before, a ban under a hung Redis never answered over HTTP and
 * failed after 10 s over gRPC, then was applied once Redis came back.
 */
class AdminDeadlineTest {

  private static final String LIMITS = "{ \"rules\": { \"default\": { \"capacity\": 10, \"refillPerSecond\": 1 } } }";
  private static final int TIMEOUT_MS = 500;

  @Test
  void aBanSentToAHungRedisIsAnsweredInTimeAsOfUnknownOutcome() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("adminTimeoutMs", TIMEOUT_MS))) {
      // Both admin paths hold an open connection to Redis, so the bans below are sent before it hangs.
      sluice.await(sluice.client().listBans(""));
      assertEquals(200, post(sluice, "GET", "/admin/bans", null).statusCode());
      redis.pause();
      CallFailedException grpc;
      HttpResponse<String> http;
      try {
        grpc = assertThrows(CallFailedException.class,
            () -> sluice.client().ban("mallory", "", 600, "test").await(5, TimeUnit.SECONDS));
        http = post(sluice, "POST", "/admin/bans", "{\"user\": \"trudy\", \"seconds\": 600}");
      } finally {
        redis.resume();
      }
      assertEquals(GrpcStatus.UNAVAILABLE, grpc.status());
      assertThat(grpc.getMessage()).contains("Redis did not answer within 500 ms (adminTimeoutMs); the ban of mallory may or may not be "
          + "in place: check with `sluice bans --user mallory`");
      assertEquals(503, http.statusCode(), http.body());
      JsonObject body = new JsonObject(http.body());
      assertThat(body.getString("error")).contains("the ban of trudy may or may not be in place");
      assertEquals(true, body.getBoolean("maybeDone"));
      // Redis received them before it hung: they are in place now, as the answers allowed.
      assertThat(sluice.await(sluice.client().listBans("mallory")).getBansList()).hasSize(1);
      assertThat(sluice.await(sluice.client().listBans("trudy")).getBansList()).hasSize(1);
    }
  }

  @Test
  void aBanThatCouldNotBeSentInTimeIsNeverMadeLater() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("adminTimeoutMs", TIMEOUT_MS))) {
      // The admin path has no connection yet: the one it opens to a hung Redis is not ready in time.
      redis.pause();
      CallFailedException grpc;
      try {
        grpc = assertThrows(CallFailedException.class,
            () -> sluice.client().ban("mallory", "", 600, "test").await(5, TimeUnit.SECONDS));
      } finally {
        redis.resume();
      }
      assertEquals(GrpcStatus.UNAVAILABLE, grpc.status());
      assertThat(grpc.getMessage()).contains("Redis could not be reached within 500 ms (adminTimeoutMs): the ban of mallory was not made");
      // Redis is back, and the connection that came too late was closed unused: told "not made", it never is.
      assertThat(sluice.await(sluice.client().listBans("mallory")).getBansList()).isEmpty();
    }
  }

  private static HttpResponse<String> post(SluiceFixture sluice, String method, String path, String body) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sluice.httpPort() + path))
            .header("authorization", "Bearer " + SluiceFixture.ADMIN_TOKEN)
            .timeout(Duration.ofSeconds(5))
            .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void aBanThatCannotReachRedisIsAnsweredAsNotMade() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("adminTimeoutMs", TIMEOUT_MS))) {
      redis.kill(Integer.parseInt(redis.uri().substring(redis.uri().lastIndexOf(':') + 1)));
      CallFailedException grpc = assertThrows(CallFailedException.class,
          () -> sluice.client().ban("mallory", "", 600, "test").await(5, TimeUnit.SECONDS));
      assertEquals(GrpcStatus.UNAVAILABLE, grpc.status());
      assertThat(grpc.getMessage()).contains("the ban of mallory was not made");
    }
  }

  @Test
  void anUnbanThatCouldNotReadItsKeysInTimeIsAnsweredAsNotMadeAndNeverMadeLater() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("adminTimeoutMs", TIMEOUT_MS))) {
      sluice.await(sluice.client().ban("mallory", "", 600, "test"));
      redis.pause();
      CallFailedException grpc;
      try {
        grpc = assertThrows(CallFailedException.class, () -> sluice.client().unban("mallory", "").await(5, TimeUnit.SECONDS));
      } finally {
        redis.resume();
      }
      assertEquals(GrpcStatus.UNAVAILABLE, grpc.status());
      // Its reads (the keys to delete) went unanswered, so its deletes were never sent.
      assertThat(grpc.getMessage()).contains("Redis did not answer within 500 ms (adminTimeoutMs): the unban of mallory was not made");
      assertThat(sluice.await(sluice.client().listBans("mallory")).getBansList()).as("not lifted later either").hasSize(1);
    }
  }

  /**
   * An unban accepted while Redis still holds an unanswered ban of the same user waits for it, and is
   * answered as not made rather than sent to overtake it; once Redis is back the ban is in place and a
   * new unban lifts it.
   */
  @Test
  void anUnbanNeverOvertakesABanOfTheSameUserThatRedisHasNotAnswered() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("adminTimeoutMs", TIMEOUT_MS))) {
      sluice.await(sluice.client().listBans(""));
      assertEquals(200, post(sluice, "GET", "/admin/bans", null).statusCode());
      redis.pause();
      HttpResponse<String> unban;
      try {
        CallFailedException ban = assertThrows(CallFailedException.class,
            () -> sluice.client().ban("mallory", "", 600, "test").await(5, TimeUnit.SECONDS));
        assertThat(ban.getMessage()).contains("may or may not be in place");
        unban = post(sluice, "DELETE", "/admin/bans?user=mallory", null);
      } finally {
        redis.resume();
      }
      assertEquals(503, unban.statusCode(), unban.body());
      assertThat(new JsonObject(unban.body()).getString("error")).contains("Redis has not yet answered an earlier change to the same user, "
          + "after 500 ms (adminTimeoutMs): the unban of mallory was not made");
      assertEquals(false, new JsonObject(unban.body()).getBoolean("maybeDone"));
      assertThat(sluice.await(sluice.client().listBans("mallory")).getBansList()).as("the ban landed, and nothing lifted it").hasSize(1);
      HttpResponse<String> lifted = post(sluice, "DELETE", "/admin/bans?user=mallory", null);
      assertEquals(200, lifted.statusCode(), lifted.body());
      assertThat(sluice.await(sluice.client().listBans("mallory")).getBansList()).isEmpty();
    }
  }

  @Test
  void theThrottleReadFromAHungRedisIsAnsweredInTimeAsNotRead() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("adminTimeoutMs", TIMEOUT_MS))) {
      sluice.await(sluice.client().getThrottle());
      assertEquals(200, post(sluice, "GET", "/admin/throttle", null).statusCode());
      redis.pause();
      CallFailedException grpc;
      HttpResponse<String> http;
      try {
        grpc = assertThrows(CallFailedException.class, () -> sluice.client().getThrottle().await(5, TimeUnit.SECONDS));
        http = post(sluice, "GET", "/admin/throttle", null);
      } finally {
        redis.resume();
      }
      assertEquals(GrpcStatus.UNAVAILABLE, grpc.status());
      assertThat(grpc.getMessage()).contains("Redis did not answer within 500 ms (adminTimeoutMs): the throttle was not read");
      assertEquals(503, http.statusCode(), http.body());
      assertEquals(false, new JsonObject(http.body()).getBoolean("maybeDone"));
    }
  }

  /** publish-limits reads the stored changes before it writes: unanswered, it writes nothing, then or later. */
  @Test
  void aLimitsChangeToAHungRedisIsReportedNotMadeAndIsNeverMadeLater(@TempDir Path dir) throws Exception {
    try (TestRedis redis = TestRedis.startOwn()) {
      Path limits = Files.writeString(dir.resolve("limits.json"), LIMITS);
      redis.pause();
      Cli.Run published;
      try {
        published = Cli.run("publish-limits", "--redis", redis.uri(), "--limits", limits.toString(), "--timeout-ms", String.valueOf(TIMEOUT_MS),
            "{\"rules\": {\"login\": {\"capacity\": 3, \"refillPerSecond\": 1}}}");
      } finally {
        redis.resume();
      }
      assertEquals(1, published.exitCode(), published.out());
      // A hung Redis does not finish the connection handshake either: "could not be reached".
      assertThat(published.err()).startsWith("not published: Redis ").contains(" within 500 ms (adminTimeoutMs): the limits change was not made");
      assertNull(redis.command(Command.GET, RedisKeys.LIMITS_KEY), "nothing stored once Redis came back");
    }
  }

  /**
   * The change's connection is open and its WATCH unanswered at the deadline: once Redis answers, the
   * change goes on reading but never writes (the gate before MULTI), so nothing is stored.
   */
  @Test
  void aLimitsChangeWhoseReadsAreAnsweredAfterItsDeadlineNeverWrites() throws Exception {
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    try (TestRedis redis = TestRedis.startOwn()) {
      io.vertx.redis.client.Redis client = io.vertx.redis.client.Redis.createClient(vertx, redis.options());
      client.send(io.vertx.redis.client.Request.cmd(Command.PING)).await(5, TimeUnit.SECONDS);
      redis.pause();
      Throwable failure;
      try {
        failure = assertThrows(Exception.class, () -> io.sluice.limits.LimitsStore.publish(vertx, client,
            "{\"rules\": {\"login\": {\"capacity\": 3, \"refillPerSecond\": 1}}}", new JsonObject(LIMITS), TIMEOUT_MS)
            .await(5, TimeUnit.SECONDS));
      } finally {
        redis.resume();
      }
      assertThat(failure.getMessage()).contains("Redis did not answer within 500 ms (adminTimeoutMs): the limits change was not made");
      // Once Redis answers its reads, the late change stops at its gate: an UNWATCH, and no MULTI.
      Await.until("the late change to stop at its gate", Duration.ofSeconds(10),
          () -> redis.command(Command.CLIENT, "LIST").toString().lines().anyMatch(line -> line.contains("cmd=unwatch")));
      assertNull(redis.command(Command.GET, RedisKeys.LIMITS_KEY), "nothing stored");
      client.close();
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
