package io.sluice.ops;

import io.sluice.grpc.v1.BanInfo;
import io.sluice.grpc.v1.Decision;
import io.sluice.redis.LocalRedis;
import io.sluice.redis.RedisBinary;
import io.sluice.support.Await;
import io.sluice.support.Http;
import io.sluice.support.Ports;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.support.LogCapture;
import io.sluice.telemetry.Metrics;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Metrics, health and the admin HTTP API, over real HTTP against a real instance. */
@ExtendWith(RedisExtension.class)
class OpsTest {

  private static final String TOKEN = "a-test-token-of-32-characters-xx";
  private static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 1 },
          "login": { "capacity": 2, "refillPerSecond": 0.001,
                     "abuse": { "maxViolations": 2, "windowSeconds": 60, "banSeconds": 60 } } } }
      """;
  private static final HttpClient http = HttpClient.newHttpClient();

  private static SluiceFixture sluice;

  @BeforeAll
  static void start(TestRedis redis) {
    sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("adminToken", TOKEN)).awaitSubscribed();
  }

  @AfterAll
  static void stop() throws Exception {
    sluice.close();
  }

  @Test
  void countersMoveByExactlyTheTrafficDrivenAndNeverNameAUser() throws Exception {
    String user = newUser();
    String before = get("/metrics", null).body();

    assertEquals(Decision.ALLOW, sluice.check(user, "login").getDecision());
    assertEquals(Decision.ALLOW, sluice.check(user, "login").getDecision());
    assertEquals(Decision.DENY, sluice.check(user, "login").getDecision());
    assertEquals(Decision.BAN, sluice.check(user, "login").getDecision(), "the second violation bans");
    assertEquals(Decision.BAN, sluice.check(user, "login").getDecision(), "answered from the ban cache");
    assertEquals(Decision.ALLOW, sluice.check(user, "search").getDecision());

    String after = get("/metrics", null).body();
    assertEquals(2, delta(before, after, "sluice_decisions_total", "rule=\"login\"", "outcome=\"allow\""));
    assertEquals(1, delta(before, after, "sluice_decisions_total", "rule=\"login\"", "outcome=\"deny\""));
    assertEquals(2, delta(before, after, "sluice_decisions_total", "rule=\"login\"", "outcome=\"ban\""));
    assertEquals(1, delta(before, after, "sluice_decisions_total", "rule=\"default\"", "outcome=\"allow\""));
    assertEquals(1, delta(before, after, "sluice_bans_total", "rule=\"login\"", "scope=\"action\""));
    assertEquals(1, delta(before, after, "sluice_ban_cache_hits_total"));
    assertEquals(6, delta(before, after, "sluice_check_duration_seconds_count"));
    assertEquals(5, delta(before, after, "sluice_redis_call_duration_seconds_count"), "the cached ban made no call");
    assertEquals(1, Http.metric(after, "sluice_ready"));
    assertEquals(1, Http.metric(after, "sluice_pubsub_subscribed", "channel=\"sluice:bans\""));
    assertEquals(1, Http.metric(after, "sluice_limits_version"));
    assertEquals(1, Http.metric(after, "sluice_limits_reloads_total", "result=\"applied\""));
    assertThat(after).contains("sluice_check_duration_seconds_bucket{le=");
    assertThat(after).as("no user id in any label").doesNotContain(user);
  }

  @Test
  void theGrafanaDashboardGraphsOnlyMetricsThatSluiceDefines() throws Exception {
    java.util.Set<String> defined = new java.util.HashSet<>();
    for (java.lang.reflect.Field field : Metrics.class.getFields()) {
      if (field.getType() == String.class) {
        defined.add((String) field.get(null));
      }
    }
    String dashboard = java.nio.file.Files.readString(java.nio.file.Path.of("docs/grafana-dashboard.json"));
    java.util.regex.Matcher names = java.util.regex.Pattern.compile("sluice_[a-z_]+").matcher(dashboard);
    int found = 0;
    while (names.find()) {
      found++;
      assertThat(defined).as("metric of the dashboard").contains(names.group().replaceAll("(_seconds)?(_total|_bucket|_count|_sum)$", ""));
    }
    assertThat(found).isGreaterThan(10);
  }

  @Test
  void livenessAndReadinessAnswerOverHttp() throws Exception {
    assertEquals(200, get("/health/live", null).statusCode());
    HttpResponse<String> ready = get("/health/ready", null);
    assertEquals(200, ready.statusCode());
    assertEquals(true, new JsonObject(ready.body()).getBoolean("ready"));
  }

  @Test
  void adminNeedsTheRightBearerToken() throws Exception {
    assertEquals(401, get("/admin/limits", null).statusCode());
    assertEquals(401, get("/admin/limits", "Bearer not-the-token").statusCode());
    assertEquals(401, get("/admin/limits", TOKEN).statusCode(), "the scheme is part of the header");
    HttpResponse<String> limits = get("/admin/limits", "Bearer " + TOKEN);
    assertEquals(200, limits.statusCode());
    JsonObject body = new JsonObject(limits.body());
    assertEquals(1, body.getLong("version"));
    assertEquals(2, body.getJsonObject("limits").getJsonObject("rules").getJsonObject("login").getInteger("capacity"));
  }

  @Test
  void aBanMadeOverHttpIsSeenThroughGrpcAndTheOtherWayRound() throws Exception {
    String overHttp = newUser();
    HttpResponse<String> banned = send("POST", "/admin/bans",
        new JsonObject().put("user", overHttp).put("seconds", 600).put("reason", "card testing").encode());
    assertEquals(200, banned.statusCode(), banned.body());
    assertEquals(Decision.BAN, sluice.check(overHttp, "checkout").getDecision());
    BanInfo seen = sluice.await(sluice.client().listBans(overHttp)).getBans(0);
    assertEquals("card testing", seen.getReason());
    assertEquals("user", seen.getScope());

    String overGrpc = newUser();
    sluice.await(sluice.client().ban(overGrpc, "login", 600, "stuffing"));
    JsonObject listed = new JsonObject(get("/admin/bans?user=" + overGrpc, "Bearer " + TOKEN).body());
    assertEquals("stuffing", listed.getJsonArray("bans").getJsonObject(0).getString("reason"));
    assertEquals("login", listed.getJsonArray("bans").getJsonObject(0).getString("action"));

    HttpResponse<String> unbanned = send("DELETE", "/admin/bans?user=" + overGrpc + "&action=login", null);
    assertEquals(1, new JsonObject(unbanned.body()).getInteger("removed"));
    assertEquals(Decision.ALLOW, sluice.check(overGrpc, "login").getDecision());
    assertEquals(0, sluice.await(sluice.client().listBans(overGrpc)).getBansCount());
  }

  @Test
  void adminRejectsBadInputNamingTheField() throws Exception {
    HttpResponse<String> noUser = send("POST", "/admin/bans", new JsonObject().put("seconds", 60).encode());
    assertEquals(400, noUser.statusCode());
    assertEquals("user_id", new JsonObject(noUser.body()).getString("field"));
    HttpResponse<String> badSeconds = send("POST", "/admin/bans", new JsonObject().put("user", "x").put("seconds", "soon").encode());
    assertEquals(400, badSeconds.statusCode());
    assertThat(badSeconds.body()).contains("seconds must be");
    assertEquals(400, send("POST", "/admin/bans", "not json").statusCode());
  }

  /** Every refusal names what was wrong in the caller's terms: no parser's or Java's internals, nothing coerced. */
  @Test
  void adminRefusalsAreInTheCallersTermsAndNothingIsCoerced() throws Exception {
    HttpResponse<String> broken = send("POST", "/admin/bans", "{\"user\": \"x\",\n \"seconds\": }");
    assertRefused(broken, "body", "the body is not valid JSON at line 2, column");
    HttpResponse<String> array = send("POST", "/admin/bans", "[1, 2]");
    assertRefused(array, "body", "the body must be a JSON object");
    assertRefused(send("POST", "/admin/bans", "{\"user\": 123, \"seconds\": 60}"), "user", "user must be a JSON string, was 123");
    assertRefused(send("POST", "/admin/bans", "{\"user\": \"x\", \"seconds\": 60, \"acton\": \"login\"}"), "acton",
        "unknown field \"acton\"");
    HttpResponse<String> negative = send("POST", "/admin/bans", "{\"user\": \"x\", \"seconds\": -1}");
    assertRefused(negative, "seconds", "seconds must be a whole number from 1 to 31536000, was -1");
    assertRefused(send("GET", "/admin/bans?user=%ff%fe", null), "user", "user is not valid UTF-8");
    assertRefused(send("DELETE", "/admin/bans?user=ok&action=%ff", null), "action", "action is not valid UTF-8");
    // A misspelt parameter would widen an unban to every action: refused, as a key spelt in escapes is read as its name.
    assertRefused(send("DELETE", "/admin/bans?user=ok&acton=login", null), "acton", "unknown parameter \"acton\"");
    assertRefused(send("DELETE", "/admin/bans?user=ok&%61ction=login&action=x", null), "action", "action is given more than once");

    LogCapture logs = LogCapture.root();
    try (logs) {
      // Sent as bytes: java.net.URI refuses to carry it.
      String raw = rawGet("/admin/bans?user=%zz");
      assertThat(raw).startsWith("HTTP/1.1 400");
      assertRefused(raw.substring(raw.indexOf("\r\n\r\n") + 4), "user", "user has a malformed %-escape");
    }
    assertThat(logs.events()).as("a bad query is the caller's mistake, not an internal error").isEmpty();
  }

  private static String rawGet(String target) throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", sluice.httpPort())) {
      socket.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN
          + "\r\nConnection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  private static void assertRefused(HttpResponse<String> response, String field, String message) {
    assertEquals(400, response.statusCode(), response.body());
    assertRefused(response.body(), field, message);
  }

  private static void assertRefused(String response, String field, String message) {
    JsonObject body = new JsonObject(response);
    assertEquals(field, body.getString("field"), response);
    assertThat(body.getString("error")).contains(message).doesNotContain("REDACTED", "StreamReadFeature", "class ", "Exception",
        "18446744073709551615");
  }

  @Test
  void theAdminApiIsOffWithoutAToken(TestRedis redis) throws Exception {
    try (SluiceFixture plain = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("adminToken", ""))) {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + plain.httpPort() + "/admin/limits")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(404, response.statusCode());
      assertThat(response.body()).contains("adminToken");
    }
  }

  @Test
  void withTheClosedFailureModeReadinessFollowsRedisAwayAndBack() throws Exception {
    int port = Ports.free();
    LocalRedis own = LocalRedis.start(RedisBinary.resolve(), port);
    JsonObject settings = new JsonObject().put("healthCheckMs", 50).put("failureMode", "closed");
    try (SluiceFixture instance = SluiceFixture.start(own.uri(), LIMITS, settings)) {
      URI ready = URI.create("http://127.0.0.1:" + instance.httpPort() + "/health/ready");
      Await.until("ready", Duration.ofSeconds(10), () -> Http.status(ready) == 200);

      own.close();
      Await.until("not ready once redis is gone", Duration.ofSeconds(10), () -> Http.status(ready) == 503);
      assertEquals(200, Http.status(URI.create("http://127.0.0.1:" + instance.httpPort() + "/health/live")), "still live");

      own = LocalRedis.start(RedisBinary.resolve(), port);
      Await.until("ready again once redis is back (scripts reloaded)", Duration.ofSeconds(10), () -> Http.status(ready) == 200);
    } finally {
      own.close();
    }
  }

  @Test
  void withTheLocalFailureModeARedisOutageKeepsTheInstanceReadyAndShowsRedisApart() throws Exception {
    int port = Ports.free();
    LocalRedis own = LocalRedis.start(RedisBinary.resolve(), port);
    try (SluiceFixture instance = SluiceFixture.start(own.uri(), LIMITS, new JsonObject().put("healthCheckMs", 50))) {
      URI ready = URI.create("http://127.0.0.1:" + instance.httpPort() + "/health/ready");
      Await.until("ready", Duration.ofSeconds(10), () -> Http.status(ready) == 200);

      own.close();
      Await.until("redis shown as gone", Duration.ofSeconds(10), () -> Http.body(ready).contains("\"redis\":false"));
      assertEquals(200, Http.status(ready), "a shared redis outage must not empty the load balancer");
      assertThat(Http.body(ready)).contains("\"failureMode\":\"local\"");
    } finally {
      own.close();
    }
  }

  private static HttpResponse<String> get(String path, String authorization) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sluice.httpPort() + path));
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> send(String method, String path, String body) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sluice.httpPort() + path))
        .header("Authorization", "Bearer " + TOKEN)
        .header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build();
    return http.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static double delta(String before, String after, String name, String... labels) {
    return Http.metric(after, name, labels) - Http.metric(before, name, labels);
  }

  private static String newUser() {
    return "user-" + UUID.randomUUID();
  }
}
