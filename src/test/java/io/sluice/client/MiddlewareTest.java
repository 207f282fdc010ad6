package io.sluice.client;

import io.sluice.support.Ports;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The client library's middleware in real HTTP servers (Vert.x Web, and Tomcat for the servlet
 * filter) in front of real instances: a user's requests answered 200, 429 with Retry-After, then 403
 * once banned, with the RateLimit headers, the same from both; the caller's policy when Sluice cannot
 * be reached; and checks spread over a fleet, going on when an instance is gone.
 */
@ExtendWith(RedisExtension.class)
class MiddlewareTest {

  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 100, "refillPerSecond": 10 },
                   "login": { "capacity": 2, "refillPerSecond": 0.01,
                              "abuse": { "maxViolations": 2, "windowSeconds": 60, "banSeconds": 600 } } } }
      """;
  private static final HttpClient http = HttpClient.newHttpClient();

  /** What a user sees of one request: status, the headers the middleware sets, and the body. */
  private record Seen(int status, String retryAfter, String rateLimit, String policy, String body) {
  }

  @Test
  void bothMiddlewaresAnswer200Then429Then403ForTheBanAndTheSame(TestRedis redis, @TempDir Path tomcatDir) throws Exception {
    Vertx vertx = Vertx.vertx();
    Tomcat tomcat = new Tomcat();
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS);
         RateLimitClient client = RateLimitClient.builder(List.of("127.0.0.1:" + sluice.port())).vertx(vertx).build()) {
      Router router = Router.router(vertx);
      router.post("/login").handler(SluiceHandler.create(client, "login", ctx -> ctx.request().getHeader("X-User-Id")))
          .handler(ctx -> ctx.response().end("welcome back"));
      HttpServer vertxServer = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await();

      tomcat.setBaseDir(tomcatDir.toString());
      tomcat.setHostname("127.0.0.1");
      tomcat.getConnector().setPort(Ports.free());
      Context context = tomcat.addContext("", tomcatDir.toString());
      Tomcat.addServlet(context, "login", new HttpServlet() {
        @Override
        protected void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
          assertThat(request.getAttribute(SluiceFilter.VERDICT)).isInstanceOf(Verdict.class);
          response.getWriter().write("welcome back");
        }
      });
      context.addServletMappingDecoded("/login", "login");
      FilterDef filter = new FilterDef();
      filter.setFilterName("sluice-login");
      filter.setFilter(new SluiceFilter(client, "login", request -> request.getHeader("X-User-Id")));
      context.addFilterDef(filter);
      FilterMap mapping = new FilterMap();
      mapping.setFilterName("sluice-login");
      mapping.addURLPattern("/login");
      context.addFilterMap(mapping);
      tomcat.start();

      for (String base : List.of("http://127.0.0.1:" + vertxServer.actualPort(), "http://127.0.0.1:" + tomcat.getConnector().getLocalPort())) {
        String user = "middleware-" + UUID.randomUUID();
        List<Seen> seen = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
          seen.add(post(base + "/login", user));
        }
        assertThat(seen).extracting(Seen::status).as(base).containsExactly(200, 200, 429, 403);
        assertEquals("welcome back", seen.get(0).body());
        assertEquals("\"login\";q=2;w=200", seen.get(0).policy());
        // Whole seconds rounded up: a second of a slow machine between two requests takes one off.
        assertThat(seen.get(0).rateLimit()).isIn("\"login\";r=1;t=100", "\"login\";r=1;t=99");
        assertThat(seen.get(2).rateLimit()).isIn("\"login\";r=0;t=200", "\"login\";r=0;t=199");
        assertThat(seen.get(2).retryAfter()).as("until one token exists again").isIn("100", "99");
        io.vertx.core.json.JsonObject denied = new io.vertx.core.json.JsonObject(seen.get(2).body());
        assertThat(denied.getLong("retryAfterMs")).as("a token refills in 100 s, some of which passed").isBetween(90_000L, 100_000L);
        denied.remove("retryAfterMs");
        assertEquals(new io.vertx.core.json.JsonObject().put("error", "too many requests").put("rule", "login").put("violations", 1)
            .put("maxViolations", 2), denied);
        assertEquals("600", seen.get(3).retryAfter());
        assertEquals("\"login\";q=2;w=200", seen.get(3).policy());
        assertThat(seen.get(3).rateLimit()).as("a ban reads no bucket: no current quota to tell").isNull();
        assertThat(seen.get(3).body()).isEqualTo("{\"error\":\"banned\",\"reason\":\"2 violations of rule login within 60s\","
            + "\"scope\":\"action\",\"banRemainingMs\":600000,\"banLevel\":1}");
        assertEquals(400, post(base + "/login", null).status(), "a request that names no user");
        assertEquals(400, post(base + "/login", "x".repeat(300)).status(), "a user id Sluice refuses");
      }
      assertEquals(0, client.unreachableAnswers());
      vertxServer.close().await();
    } finally {
      tomcat.stop();
      tomcat.destroy();
      vertx.close().await();
    }
  }

  @Test
  void whenSluiceCannotBeReachedTheCallersPolicyAnswersCountedAndSaidSo() throws Exception {
    Vertx vertx = Vertx.vertx();
    String nowhere = "127.0.0.1:" + Ports.free();
    try (RateLimitClient open = RateLimitClient.builder(List.of(nowhere)).vertx(vertx).build();
         RateLimitClient closed = RateLimitClient.builder(List.of(nowhere)).vertx(vertx).whenUnreachable(Unreachable.deny(Duration.ofSeconds(5)))
             .build();
         RateLimitClient local = RateLimitClient.builder(List.of(nowhere)).vertx(vertx)
             .whenUnreachable(Unreachable.localLimit(1, 0.001, 1000)).build()) {
      Router router = Router.router(vertx);
      router.get("/open").handler(SluiceHandler.create(open, "login", ctx -> "alice")).handler(ctx -> ctx.response().end("ok"));
      router.get("/closed").handler(SluiceHandler.create(closed, "login", ctx -> "alice")).handler(ctx -> ctx.response().end("ok"));
      router.get("/local").handler(SluiceHandler.create(local, "login", ctx -> "alice")).handler(ctx -> ctx.response().end("ok"));
      HttpServer server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await();
      String base = "http://127.0.0.1:" + server.actualPort();

      HttpResponse<String> allowed = get(base + "/open");
      assertEquals(200, allowed.statusCode());
      assertEquals("unavailable", allowed.headers().firstValue(HttpAnswer.STATUS_HEADER).orElseThrow());
      HttpResponse<String> refused = get(base + "/closed");
      assertEquals(429, refused.statusCode());
      assertEquals("5", refused.headers().firstValue("Retry-After").orElseThrow());
      assertEquals("unavailable", refused.headers().firstValue(HttpAnswer.STATUS_HEADER).orElseThrow());
      assertEquals(List.of(200, 429), List.of(get(base + "/local").statusCode(), get(base + "/local").statusCode()),
          "a bucket of one token, of this process's own");
      assertEquals(List.of(1L, 1L, 2L), List.of(open.unreachableAnswers(), closed.unreachableAnswers(), local.unreachableAnswers()));
      server.close().await();
    } finally {
      vertx.close().await();
    }
  }

  @Test
  void checksSpreadOverTheFleetAndGoOnWhenAnInstanceIsGone(TestRedis redis) throws Exception {
    SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
    boolean aRuns = true;
    try (SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS);
         RateLimitClient client = RateLimitClient.builder(List.of("127.0.0.1:" + a.port(), "127.0.0.1:" + b.port()))
             .healthInterval(Duration.ofMillis(100)).build()) {
      Set<String> answeredBy = new HashSet<>();
      for (int i = 0; i < 10; i++) {
        Verdict verdict = client.checkAndWait("spread-" + i, "search", 1);
        assertThat(verdict.answeredBySluice()).isTrue();
        answeredBy.add(verdict.instance());
      }
      assertEquals(Set.of("127.0.0.1:" + a.port(), "127.0.0.1:" + b.port()), answeredBy);

      a.close();
      aRuns = false;
      // The instance that is gone is tried no more once its health check fails; until then a check
      // that meets it is tried on the other, within the deadline.
      Map<String, Integer> after = new java.util.HashMap<>();
      for (int i = 0; i < 20; i++) {
        Verdict verdict = client.checkAndWait("after-" + i, "search", 1);
        assertThat(verdict.answeredBySluice()).as("check " + i).isTrue();
        after.merge(verdict.instance(), 1, Integer::sum);
      }
      assertEquals(Map.of("127.0.0.1:" + b.port(), 20), after);
      assertEquals(0, client.unreachableAnswers());
    } finally {
      if (aRuns) {
        a.close();
      }
    }
  }

  private static Seen post(String url, String user) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.noBody());
    if (user != null) {
      request.header("X-User-Id", user);
    }
    HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    return new Seen(response.statusCode(), response.headers().firstValue("Retry-After").orElse(null),
        response.headers().firstValue("RateLimit").orElse(null), response.headers().firstValue("RateLimit-Policy").orElse(null),
        response.body());
  }

  private static HttpResponse<String> get(String url) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
