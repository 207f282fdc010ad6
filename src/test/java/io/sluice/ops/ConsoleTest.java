package io.sluice.ops;

import io.sluice.support.LogCapture;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The console's doors, over real HTTP: nothing of it answers without a session made with an admin
 * token, the session cookie is out of scripts' and other sites' reach, and a change a cross-site
 * page forges is refused. (ConsoleBrowserIT drives it in a real browser.)
 */
@ExtendWith(RedisExtension.class)
class ConsoleTest {

  private static final HttpClient http = HttpClient.newHttpClient();

  @Test
  void nothingAnswersWithoutASessionAndAForgedCrossSiteChangeIsRefused(TestRedis redis) throws Exception {
    try (LogCapture logs = LogCapture.root();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), "{ \"rules\": { \"default\": { \"capacity\": 10, \"refillPerSecond\": 1 } } }")) {
      String base = "http://127.0.0.1:" + sluice.httpPort();
      String origin = base;
      for (String path : List.of("/console", "/console/api/fleet", "/console/api/bans", "/console/api/audit", "/console/api/limits")) {
        HttpResponse<String> refused = get(base + path, null);
        assertEquals(401, refused.statusCode(), path);
        assertThat(refused.headers().firstValue("Content-Security-Policy")).as(path).hasValue(Console.CONTENT_SECURITY_POLICY);
        assertThat(refused.body()).as(path).doesNotContain("\"instances\"").doesNotContain("\"bans\"");
      }
      assertThat(get(base + "/console", null).body()).contains("<form method=\"post\" action=\"/console/login\"");
      // The bearer token opens the admin API, not the console: its pages want a session.
      assertEquals(401, get(base + "/console/api/bans", null, "Authorization", "Bearer " + SluiceFixture.ADMIN_TOKEN).statusCode());

      HttpResponse<String> wrong = login(base, "not-a-token-of-this-fleet-at-all", origin);
      assertEquals(401, wrong.statusCode());
      assertThat(wrong.headers().firstValue("Set-Cookie")).isEmpty();
      assertThat(wrong.body()).contains("That token opens no admin API of this fleet.");
      assertEquals(403, login(base, SluiceFixture.ADMIN_TOKEN, "http://evil.example").statusCode(), "a login form posted from another site");
      assertEquals(403, login(base, SluiceFixture.ADMIN_TOKEN, null).statusCode(), "a login without the browser's origin");

      HttpResponse<String> in = login(base, SluiceFixture.ADMIN_TOKEN, origin);
      assertEquals(303, in.statusCode());
      assertEquals("/console", in.headers().firstValue("Location").orElseThrow(), "the token is in no URL, not even the next one");
      String setCookie = in.headers().firstValue("Set-Cookie").orElseThrow();
      assertThat(setCookie).startsWith(Console.COOKIE + "=").containsIgnoringCase("HttpOnly").contains("SameSite=Strict").contains("Path=/console")
          .doesNotContain(SluiceFixture.ADMIN_TOKEN);
      String cookie = setCookie.substring(0, setCookie.indexOf(';'));
      assertEquals(200, get(base + "/console", cookie).statusCode());
      assertThat(get(base + "/console/api/fleet", cookie).body()).contains("\"instances\"");

      // A page of another site can make the browser send the cookie with a form (SameSite aside): no such change is made.
      String user = "forged-" + UUID.randomUUID();
      String ban = new JsonObject().put("user", user).put("seconds", 600).encode();
      assertEquals(403, post(base + "/console/api/bans", cookie, ban, "Origin", origin).statusCode(), "without the console's header");
      assertEquals(403, post(base + "/console/api/bans", cookie, ban, "X-Sluice-Console", "1", "Origin", "http://evil.example").statusCode());
      assertEquals(403, post(base + "/console/api/bans", cookie, ban, "X-Sluice-Console", "1", "Origin", origin,
          "Sec-Fetch-Site", "cross-site").statusCode());
      assertThat(sluice.await(sluice.client().listBans(user)).getBansList()).as("no forged ban was made").isEmpty();
      HttpResponse<String> made = post(base + "/console/api/bans", cookie, ban, "X-Sluice-Console", "1", "Origin", origin);
      assertEquals(200, made.statusCode(), made.body());
      assertThat(sluice.await(sluice.client().listBans(user)).getBansList()).hasSize(1);
      assertThat(get(base + "/console/api/audit?count=1&user=" + URLEncoder.encode(user, StandardCharsets.UTF_8), cookie).body())
          .contains("\"actor\":\"admin\"").contains("\"via\":\"console\"").contains("\"action\":\"ban\"");

      // A login from a browser that had a session ends that one: a cookie taken before is worth nothing after.
      HttpResponse<String> again = http.send(HttpRequest.newBuilder(URI.create(base + "/console/login")).header("Cookie", cookie)
          .header("Origin", origin).header("Content-Type", "application/x-www-form-urlencoded")
          .POST(HttpRequest.BodyPublishers.ofString("token=" + URLEncoder.encode(SluiceFixture.ADMIN_TOKEN, StandardCharsets.UTF_8))).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(303, again.statusCode());
      assertEquals(401, get(base + "/console/api/fleet", cookie).statusCode(), "the session before the second login");
      String setAgain = again.headers().firstValue("Set-Cookie").orElseThrow();
      cookie = setAgain.substring(0, setAgain.indexOf(';'));
      assertEquals(401, http.send(HttpRequest.newBuilder(URI.create(base + "/console/api/bans")).method("OPTIONS", HttpRequest.BodyPublishers.noBody())
          .build(), HttpResponse.BodyHandlers.ofString()).statusCode(), "a preflight carries no cookie, and gets nothing");

      HttpResponse<String> out = post(base + "/console/logout", cookie, "", "Origin", origin);
      assertEquals(303, out.statusCode());
      assertEquals(401, get(base + "/console/api/fleet", cookie).statusCode(), "the session ended with the logout");
      assertThat(logs.events()).noneMatch(event -> event.getFormattedMessage().contains(SluiceFixture.ADMIN_TOKEN));
    }
  }

  @Test
  void behindAProxyTheConsoleTakesTheOriginsItWasToldOfAndNoOthers(TestRedis redis) throws Exception {
    String proxied = "https://sluice.example.com";
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), "{ \"rules\": { \"default\": { \"capacity\": 10, \"refillPerSecond\": 1 } } }",
        new JsonObject().put("consoleOrigins", "HTTPS://Sluice.Example.com:443, https://ops.example.com:8443"))) {
      String base = "http://127.0.0.1:" + sluice.httpPort();
      HttpResponse<String> throughProxy = login(base, SluiceFixture.ADMIN_TOKEN, proxied);
      assertEquals(303, throughProxy.statusCode(), "the page as the proxy serves it (a browser leaves out the default port)");
      assertThat(throughProxy.headers().firstValue("Set-Cookie").orElseThrow()).as("sent back over https only").containsIgnoringCase("Secure");
      assertEquals(303, login(base, SluiceFixture.ADMIN_TOKEN, "https://ops.example.com:8443").statusCode());
      assertEquals(303, login(base, SluiceFixture.ADMIN_TOKEN, base).statusCode(), "and as the instance serves it");
      assertEquals(403, login(base, SluiceFixture.ADMIN_TOKEN, "https://sluice.example.com.evil.example").statusCode());
      assertEquals(403, login(base, SluiceFixture.ADMIN_TOKEN, "http://sluice.example.com").statusCode(), "another scheme is another origin");
    }
    IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> io.sluice.config.Settings.fromJson(new JsonObject().put("consoleOrigins", "https://sluice.example.com/console")));
    assertThat(refused.getMessage()).contains("consoleOrigins must list origins").contains("'https://sluice.example.com/console'");
  }

  @Test
  void tenWrongTokensFromAnAddressAndItIsRefusedForTheMinuteWhateverItShowsNext(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), "{ \"rules\": { \"default\": { \"capacity\": 10, \"refillPerSecond\": 1 } } }")) {
      String base = "http://127.0.0.1:" + sluice.httpPort();
      // Asking without any token is no guess: it is never counted.
      for (int i = 0; i < 2 * io.sluice.security.FailedLogins.MAX_FAILURES; i++) {
        assertEquals(401, get(base + "/admin/bans", null).statusCode());
      }
      for (int i = 0; i < io.sluice.security.FailedLogins.MAX_FAILURES - 1; i++) {
        assertEquals(401, login(base, "guess-" + i + "-of-a-token-of-some-length", base).statusCode());
      }
      assertEquals(401, get(base + "/admin/bans", null, "Authorization", "Bearer guess-over-the-admin-api-of-some-length").statusCode());
      // The eleventh try is refused unread, even with the right token: a guesser learns nothing more this minute.
      HttpResponse<String> held = login(base, SluiceFixture.ADMIN_TOKEN, base);
      assertEquals(429, held.statusCode());
      assertThat(held.body()).contains("too many wrong admin tokens from this address");
      long retryAfter = Long.parseLong(held.headers().firstValue("Retry-After").orElseThrow());
      assertThat(retryAfter).isBetween(1L, 60L);
      HttpResponse<String> api = get(base + "/admin/bans", null, "Authorization", "Bearer " + SluiceFixture.ADMIN_TOKEN);
      assertEquals(429, api.statusCode(), "the admin API shares the count");
      assertThat(api.headers().firstValue("Retry-After")).isPresent();
      // gRPC Admin keeps a count of its own (backends share addresses with operators, docs/security.md): it still answers.
      assertThat(sluice.await(sluice.client().listBans("nobody")).getBansList()).isEmpty();
    }
  }

  @Test
  void aChangeCheckedAgainstOneVersionIsNotPublishedOverAnother() throws Exception {
    // A Redis of its own: what this publishes no other test's instances adopt.
    try (TestRedis own = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(own.uri(), "{ \"rules\": { \"default\": { \"capacity\": 10, \"refillPerSecond\": 1 } } }")) {
      String admin = "http://127.0.0.1:" + sluice.httpPort() + "/admin/limits";
      String bearer = "Bearer " + SluiceFixture.ADMIN_TOKEN;
      String change = "{\"rules\": {\"login\": {\"capacity\": 5, \"refillPerSecond\": 1}}}";
      HttpResponse<String> checked = send("POST", admin + "/check", bearer, change);
      assertEquals(200, checked.statusCode(), checked.body());
      assertEquals(0, new JsonObject(checked.body()).getLong("storedVersion"));
      // Someone else publishes first; the change checked against version 0 is then refused, and nothing is stored.
      assertEquals(200, send("POST", admin, bearer, "{\"rules\": {\"search\": {\"capacity\": 7, \"refillPerSecond\": 1}}}").statusCode());
      HttpResponse<String> late = send("POST", admin + "?expectedVersion=0", bearer, change);
      assertEquals(400, late.statusCode());
      assertThat(late.body()).contains("expectedVersion: the stored limits are at version 1, not 0");
      assertThat(send("GET", admin + "/history", bearer, null).body()).doesNotContain("\"version\":2");
      HttpResponse<String> again = send("POST", admin + "?expectedVersion=1", bearer, change);
      assertEquals(200, again.statusCode(), again.body());
      assertEquals(2, new JsonObject(again.body()).getLong("version"));
      HttpResponse<String> bad = send("POST", admin + "?expectedVersion=latest", bearer, change);
      assertEquals(400, bad.statusCode());
      assertThat(bad.body()).contains("\"field\":\"expectedVersion\"");
    }
  }

  private static HttpResponse<String> send(String method, String url, String bearer, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", bearer)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> login(String base, String token, String origin) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + "/console/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("token=" + URLEncoder.encode(token, StandardCharsets.UTF_8)));
    if (origin != null) {
      request.header("Origin", origin);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> get(String url, String cookie, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url));
    if (cookie != null) {
      request.header("Cookie", cookie);
    }
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String url, String cookie, String body, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).header("Cookie", cookie).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      request.header(headers[i], headers[i + 1]);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
