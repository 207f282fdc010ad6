package io.sluice.grpc;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.Http;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Who may use which gRPC service: the Admin service and latency reports need their tokens; checks do not. */
@ExtendWith(RedisExtension.class)
class AccessTest {

  private static final String REPORT_TOKEN = "a-report-token-of-32-characters!";
  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 10, "refillPerSecond": 1 },
                   "search": { "capacity": 10, "refillPerSecond": 1, "adaptive": true } } }
      """;

  private static TestRedis redis;
  private static SluiceFixture sluice;
  private static Vertx vertx;

  @BeforeAll
  static void start(TestRedis testRedis) {
    redis = testRedis;
    sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("reportToken", REPORT_TOKEN));
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    sluice.close();
  }

  @Test
  void everyAdminCallWithoutTheTokenIsRefusedAndChangesNothing(TestRedis testRedis) throws Exception {
    // An instance of its own: its ten wrong tokens (exactly the most that are answered UNAUTHENTICATED)
    // hold 127.0.0.1 back there, not on the class's.
    try (SluiceFixture own = SluiceFixture.start(testRedis.uri(), LIMITS, new JsonObject().put("reportToken", REPORT_TOKEN))) {
      String user = "victim-" + UUID.randomUUID();
      own.await(own.client().ban(user, "", 600, "a real ban"));
      List<String> keysBefore = userKeys();
      double refusedBefore = refused(own, "grpc-admin");

      for (ClientAccess access : List.of(ClientAccess.PLAIN, ClientAccess.PLAIN.withToken("not-the-admin-token-at-all-nope"),
          ClientAccess.PLAIN.withToken(REPORT_TOKEN))) {
        SluiceClient stranger = client(own, access);
        for (Function<SluiceClient, Future<?>> call : List.<Function<SluiceClient, Future<?>>>of(
            c -> c.unban(user, ""), c -> c.ban("someone-else", "", 600, "framed"), c -> c.listBans(""),
            SluiceClient::getLimits, SluiceClient::getThrottle)) {
          CallFailedException refused = assertThrows(CallFailedException.class, () -> own.await(call.apply(stranger)));
          assertEquals(GrpcStatus.UNAUTHENTICATED, refused.status(), access.toString());
        }
      }

      assertEquals(keysBefore, userKeys(), "nothing written");
      assertEquals(Decision.BAN, own.check(user, "login").getDecision(), "the ban still holds");
      assertEquals(15, refused(own, "grpc-admin") - refusedBefore, "every refusal counted");
    }
  }

  @Test
  void tenWrongAdminTokensInAMinuteHoldTheAddressBackWhateverItShowsNext(TestRedis testRedis) throws Exception {
    try (SluiceFixture own = SluiceFixture.start(testRedis.uri(), LIMITS)) {
      SluiceClient admin = client(own, ClientAccess.PLAIN.withToken(SluiceFixture.ADMIN_TOKEN));
      SluiceClient prober = client(own, ClientAccess.PLAIN);
      for (int i = 0; i < 12; i++) {
        // No token at all is a probe, not a guess: never counted toward the ten.
        assertEquals(GrpcStatus.UNAUTHENTICATED,
            assertThrows(CallFailedException.class, () -> own.await(prober.getLimits())).status());
      }
      assertThat(own.await(admin.getLimits()).getDigest()).as("probes held nothing back").isNotEmpty();
      SluiceClient guesser = client(own, ClientAccess.PLAIN.withToken("a-guess-at-the-admin-token-0000"));
      for (int i = 0; i < io.sluice.security.FailedLogins.MAX_FAILURES; i++) {
        assertEquals(GrpcStatus.UNAUTHENTICATED,
            assertThrows(CallFailedException.class, () -> own.await(guesser.getLimits())).status(), "guess " + (i + 1));
      }

      CallFailedException heldBack = assertThrows(CallFailedException.class, () -> own.await(admin.getLimits()));
      assertEquals(GrpcStatus.RESOURCE_EXHAUSTED, heldBack.status(), "even the right token, from that address, for the minute");
      assertThat(heldBack.getMessage()).contains("too many wrong admin tokens from this address: try again in");
      assertEquals(1, refused(own, "grpc-admin-guessing"));
      assertEquals(Decision.ALLOW, own.check("a-user", "login").getDecision(), "checks from that address are served");
      assertThat(Http.body(java.net.URI.create("http://127.0.0.1:" + own.httpPort() + "/admin/limits"), "Bearer " + SluiceFixture.ADMIN_TOKEN))
          .as("the HTTP port keeps a count of its own: operators are not held back there").contains("\"rules\"");
    }
  }

  @Test
  void theAdminTokenOpensTheAdminService() {
    String user = "admin-" + UUID.randomUUID();
    SluiceClient admin = client(ClientAccess.PLAIN.withToken(SluiceFixture.ADMIN_TOKEN));
    sluice.await(admin.ban(user, "", 60, "ok"));
    assertThat(sluice.await(admin.listBans(user)).getBansList()).hasSize(1);
    assertEquals(1, sluice.await(admin.unban(user, "")).getRemoved());
    assertThat(sluice.await(admin.getLimits()).getDigest()).isNotEmpty();
  }

  @Test
  void withoutAnAdminTokenTheAdminServiceIsNotServedAtAll(TestRedis testRedis) throws Exception {
    try (SluiceFixture plain = SluiceFixture.start(testRedis.uri(), LIMITS, new JsonObject().put("adminToken", ""))) {
      SluiceClient anyone = new SluiceClient(vertx, SocketAddress.inetSocketAddress(plain.port(), "127.0.0.1"),
          ClientAccess.PLAIN.withToken(SluiceFixture.ADMIN_TOKEN));
      CallFailedException refused = assertThrows(CallFailedException.class, () -> plain.await(anyone.listBans("")));
      assertEquals(GrpcStatus.UNIMPLEMENTED, refused.status());
      assertEquals(Decision.ALLOW, plain.check("u", "login").getDecision(), "checks are served");
    }
  }

  @Test
  void latencyReportsNeedTheReportTokenWhenOneIsSet() {
    CallFailedException refused = assertThrows(CallFailedException.class,
        () -> sluice.await(client(ClientAccess.PLAIN).reportLatency("", List.of(900.0))));
    assertEquals(GrpcStatus.UNAUTHENTICATED, refused.status());
    assertThrows(CallFailedException.class, () -> sluice.await(
        client(ClientAccess.PLAIN.withToken(SluiceFixture.ADMIN_TOKEN)).reportLatency("", List.of(900.0))),
        "the admin token is not the report token");

    SluiceClient reporter = client(ClientAccess.PLAIN.withToken(REPORT_TOKEN));
    assertEquals(1.0, sluice.await(reporter.reportLatency("", List.of(12.0))).getFactor());
    assertEquals(1.0, sluice.await(reporter.reportLatency("search", List.of(12.0))).getFactor());
  }

  @Test
  void reportsAreTakenOnlyForTheWholeBackendOrAnActionWithARule() {
    SluiceClient reporter = client(ClientAccess.PLAIN.withToken(REPORT_TOKEN));
    String madeUp = "made-up-" + UUID.randomUUID();
    CallFailedException refused = assertThrows(CallFailedException.class,
        () -> sluice.await(reporter.reportLatency(madeUp, List.of(1.0))));
    assertEquals(GrpcStatus.INVALID_ARGUMENT, refused.status());
    assertThat(refused.getMessage()).contains("action must name a rule");
    assertThat(redis.command(Command.KEYS, "*" + madeUp + "*")).as("no subject made up in redis").isEmpty();
  }

  /** Keys of users (buckets, bans...): the fleet's own keys ({sluice}:*) change with time, whatever callers do. */
  private static List<String> userKeys() {
    List<String> keys = new java.util.ArrayList<>();
    redis.command(Command.KEYS, "*").forEach(key -> {
      if (!key.toString().startsWith(io.sluice.redis.RedisKeys.FLEET_TAG)) {
        keys.add(key.toString());
      }
    });
    return keys.stream().sorted().toList();
  }

  private static double refused(SluiceFixture instance, String api) {
    return Http.metric(instance.sluice().metrics().scrape(), "sluice_unauthenticated_total", "api=\"" + api + "\"");
  }

  private static SluiceClient client(ClientAccess access) {
    return client(sluice, access);
  }

  private static SluiceClient client(SluiceFixture instance, ClientAccess access) {
    return new SluiceClient(vertx, SocketAddress.inetSocketAddress(instance.port(), "127.0.0.1"), access);
  }
}
