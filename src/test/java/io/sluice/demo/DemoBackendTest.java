package io.sluice.demo;

import io.sluice.grpc.FleetClient;
import io.sluice.limits.Limits;
import io.sluice.limits.LimitsParser;
import io.sluice.support.Cli;
import io.sluice.support.Ports;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The fleet as users meet it: Redis, two instances, the demo backend in front, and the simulator. */
@ExtendWith(RedisExtension.class)
class DemoBackendTest {

  private static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 100, "refillPerSecond": 10 },
          "search": { "capacity": 5, "refillPerSecond": 2 },
          "login": { "capacity": 3, "refillPerSecond": 0.001,
                     "abuse": { "maxViolations": 2, "windowSeconds": 60, "banSeconds": 60 } } } }
      """;
  private static final HttpClient http = HttpClient.newHttpClient();

  private static SluiceFixture a;
  private static SluiceFixture b;
  private static Vertx vertx;
  private static int backendPort;

  @BeforeAll
  static void start(TestRedis redis) throws Exception {
    a = SluiceFixture.start(redis.uri(), LIMITS);
    b = SluiceFixture.start(redis.uri(), LIMITS);
    vertx = Vertx.vertx();
    DemoBackendVerticle backend = new DemoBackendVerticle("127.0.0.1", Ports.free(), List.of(
        SocketAddress.inetSocketAddress(a.port(), "127.0.0.1"), SocketAddress.inetSocketAddress(b.port(), "127.0.0.1")));
    vertx.deployVerticle(backend).await(10, TimeUnit.SECONDS);
    backendPort = backend.actualPort();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    a.close();
    b.close();
  }

  @Test
  void loginWalksFrom200To429To403WithTheRightHeaders() throws Exception {
    String user = "user-" + UUID.randomUUID();
    Set<String> instances = new HashSet<>();
    for (int remaining = 2; remaining >= 0; remaining--) {
      HttpResponse<String> ok = login(user);
      assertEquals(200, ok.statusCode());
      assertEquals("\"login\";q=3;w=3000", ok.headers().firstValue("RateLimit-Policy").orElseThrow());
      assertThat(ok.headers().firstValue("RateLimit").orElseThrow()).startsWith("\"login\";r=" + remaining + ";t=");
      instances.add(ok.headers().firstValue("Sluice-Instance").orElseThrow());
    }
    assertEquals(Set.of("0", "1"), instances, "the backend's requests are spread over both instances");

    HttpResponse<String> tooFast = login(user);
    assertEquals(429, tooFast.statusCode());
    // One token refills in 1000 s at 0.001/s.
    assertEquals("1000", tooFast.headers().firstValue("Retry-After").orElseThrow());
    assertThat(tooFast.headers().firstValue("RateLimit").orElseThrow()).startsWith("\"login\";r=0;t=");
    assertEquals("too many requests", new JsonObject(tooFast.body()).getString("error"));

    HttpResponse<String> banned = login(user);
    assertEquals(403, banned.statusCode());
    JsonObject why = new JsonObject(banned.body());
    assertEquals("banned", why.getString("error"));
    assertEquals("2 violations of rule login within 60s", why.getString("reason"));
    assertEquals("60", banned.headers().firstValue("Retry-After").orElseThrow());
    assertEquals(403, login(user).statusCode(), "and stays banned");

    assertThat(a.sluice().metrics().scrape()).contains("sluice_decisions_total{outcome=\"allow\",rule=\"login\"}");
    assertThat(b.sluice().metrics().scrape()).contains("sluice_decisions_total{outcome=\"allow\",rule=\"login\"}");
  }

  @Test
  void aRequestThatSaysNotWhoItIsForIsABadRequest() throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + backendPort + "/search")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(400, response.statusCode());
  }

  @Test
  void theSimulationFindsNoUserAllowedMoreThanItsLimit() {
    Cli.Run run = Cli.run("simulate", "--targets", "127.0.0.1:" + a.port() + ",127.0.0.1:" + b.port(),
        "--users", "10", "--user-rate", "2", "--abusers", "3", "--abuser-rate", "40", "--actions", "login,search",
        "--seconds", "2", "--token", SluiceFixture.ADMIN_TOKEN);
    assertEquals(0, run.exitCode(), run.out() + run.err());
    assertThat(run.out()).contains("accuracy: OK");
    List<String> finalBlock = new ArrayList<>(List.of(run.out().substring(run.out().lastIndexOf("final")).split("\n")));
    assertThat(finalBlock).anySatisfy(line -> assertThat(line).contains("instance 1").doesNotContain("allowed      0"));
    assertThat(finalBlock).anySatisfy(line -> assertThat(line).contains("instance 2").doesNotContain("allowed      0"));
    assertThat(finalBlock).anySatisfy(line -> assertThat(line).contains("login").doesNotContain("banned      0"));
  }

  @Test
  void theAccuracyCheckCatchesAFleetThatAllowsMoreThanTheLimit() throws Exception {
    // Tell the simulation that search allows 1 token where the fleet enforces 5: it must notice.
    Limits stricter = LimitsParser.parse("{\"rules\":{\"default\":{\"capacity\":1,\"refillPerSecond\":0.001}}}", "test", 1);
    FleetClient fleet = new FleetClient(vertx, List.of(SocketAddress.inetSocketAddress(a.port(), "127.0.0.1"),
        SocketAddress.inetSocketAddress(b.port(), "127.0.0.1")));
    try {
      Simulation simulation = new Simulation(vertx, fleet, stricter,
          new Simulation.Plan("strict-" + UUID.randomUUID(), 0, 1, 1, 50, List.of("search"), 300));
      simulation.run().await(30, TimeUnit.SECONDS);
      assertThat(simulation.violations()).singleElement().satisfies(violation -> {
        assertEquals("search", violation.action());
        assertThat(violation.causedByDegradedAnswers()).isFalse();
        assertEquals(1, violation.permitted());
        assertThat(violation.allowed()).isGreaterThan(1);
      });
    } finally {
      fleet.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void overageLetThroughByDegradedAnswersIsReportedAsTheirsAndFailsTheRun() throws Exception {
    // An instance whose Redis is gone answers by its failure mode, here open: every answer a degraded ALLOW.
    try (SluiceFixture cutOff = SluiceFixture.cutOff(LIMITS, new JsonObject().put("failureMode", "open"))) {
      Cli.Run run = Cli.run("simulate", "--targets", "127.0.0.1:" + a.port() + ",127.0.0.1:" + cutOff.port(),
          "--users", "0", "--abusers", "1", "--abuser-rate", "50", "--actions", "login", "--seconds", "0.5",
          "--token", SluiceFixture.ADMIN_TOKEN);
      assertEquals(1, run.exitCode(), run.out() + run.err());
      String finalBlock = run.out().substring(run.out().lastIndexOf("final"));
      assertThat(finalBlock).containsPattern("instance 2 +allowed +0 +denied +0 +banned +0 +degraded [1-9][0-9]* \\(allowed [1-9]");
      assertThat(run.out()).contains("accuracy: DEGRADED, degraded answers (Redis unavailable) let 1 user/action pairs exceed their limit")
          .doesNotContain("FAILED")
          .containsPattern("action=login allowed=[0-3] degraded_allowed=[1-9][0-9]* permitted=3");
    }
  }

  @Test
  void aRunThatDecidedNothingFailsSayingWhy() throws Exception {
    try (SluiceFixture cutOff = SluiceFixture.cutOff(LIMITS, new JsonObject().put("failureMode", "open"))) {
      Cli.Run run = Cli.run("simulate", "--targets", "127.0.0.1:" + cutOff.port(), "--users", "2", "--abusers", "0",
          "--user-rate", "20", "--seconds", "0.3", "--token", SluiceFixture.ADMIN_TOKEN);
      assertEquals(1, run.exitCode(), run.out() + run.err());
      assertThat(run.err()).contains("simulate: nothing was decided: all").contains("answers were degraded");
    }
  }

  private static HttpResponse<String> login(String user) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + backendPort + "/login"))
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("user", user).encode()))
        .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
  }
}
