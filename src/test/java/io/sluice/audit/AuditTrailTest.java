package io.sluice.audit;

import io.sluice.grpc.ClientAccess;
import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.AuditEntry;
import io.sluice.support.Cli;
import io.sluice.support.LogCapture;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.redis.client.Command;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The audit trail: every admin action, through gRPC, the CLI or admin HTTP, on any instance, recorded
 * once in Redis with the name of the token that made it, and shown the same by all three.
 */
@ExtendWith(RedisExtension.class)
class AuditTrailTest {

  private static final String ALICE = "alice-token-of-at-least-16-characters";
  private static final String CI = "ci-bot-token-of-at-least-16-characters";
  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 100, "refillPerSecond": 1 }, "login": { "capacity": 5, "refillPerSecond": 1 } },
        "tiers": { "gold": { "login": { "capacity": 50 } } } }
      """;
  private static final HttpClient http = HttpClient.newHttpClient();

  @Test
  void everyAdminActionIsRecordedOnceWithTheNameOfItsTokenAndShownByEveryApi(TestRedis redis, @TempDir Path dir) throws Exception {
    Path tokens = Files.writeString(dir.resolve("admin-tokens"), "# operators and tools, one token each\nalice " + ALICE + "\n\nci-bot " + CI + "\n");
    JsonObject settings = new JsonObject().put("adminTokensFile", tokens.toString());
    Vertx vertx = Vertx.vertx();
    try (LogCapture logs = LogCapture.root();
         SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS, settings);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS, settings)) {
      String user = "audited-" + UUID.randomUUID();
      SluiceClient alice = new SluiceClient(vertx, SocketAddress.inetSocketAddress(a.port(), "127.0.0.1"), ClientAccess.PLAIN.withToken(ALICE));

      // alice bans over gRPC, and is refused a ban of no duration; ci-bot unbans over HTTP on the other
      // instance; the CLI, with the admin token, stores a plan; a caller with a wrong token does nothing.
      a.await(alice.ban(user, "login", 600, "credential stuffing"));
      CallFailedException refused = assertThrows(CallFailedException.class, () -> a.await(alice.ban(user, "", 0, "")));
      assertEquals(GrpcStatus.INVALID_ARGUMENT, refused.status());
      HttpResponse<String> unbanned = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + b.httpPort() + "/admin/bans?user="
          + URLEncoder.encode(user, StandardCharsets.UTF_8) + "&action=login")).DELETE().header("Authorization", "Bearer " + CI).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, unbanned.statusCode(), unbanned.body());
      Cli.Run tierSet = Cli.run("tier", "set", "--target", "127.0.0.1:" + a.port(), "--token", SluiceFixture.ADMIN_TOKEN, "--user", user,
          "--tier", "gold");
      assertEquals(0, tierSet.exitCode(), tierSet.err());
      SluiceClient forged = new SluiceClient(vertx, SocketAddress.inetSocketAddress(b.port(), "127.0.0.1"),
          ClientAccess.PLAIN.withToken("not-a-token-of-this-fleet-at-all"));
      assertEquals(GrpcStatus.UNAUTHENTICATED, assertThrows(CallFailedException.class,
          () -> b.await(forged.setTier(user, ""))).status());
      HttpResponse<String> forgedHttp = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.httpPort() + "/admin/tiers?user="
          + URLEncoder.encode(user, StandardCharsets.UTF_8))).DELETE().header("Authorization", "Bearer not-a-token-of-this-fleet-at-all").build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(401, forgedHttp.statusCode());

      // Over gRPC, from the instance that made none of them: newest first, each once.
      List<AuditEntry> entries = b.await(b.client().listAudit(10, user)).getEntriesList();
      assertThat(entries).extracting(AuditEntry::getAction, AuditEntry::getActor, AuditEntry::getVia, AuditEntry::getOutcome)
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple("tier.set", "admin", "cli", "ok"),
              org.assertj.core.groups.Tuple.tuple("unban", "ci-bot", "http", "ok"),
              org.assertj.core.groups.Tuple.tuple("ban", "alice", "grpc", "refused"),
              org.assertj.core.groups.Tuple.tuple("ban", "alice", "grpc", "ok"));
      assertEquals("login", entries.get(3).getScope());
      assertEquals("seconds=600 reason=credential stuffing", entries.get(3).getDetail());
      assertThat(entries.get(2).getDetail()).contains("duration");
      assertEquals("tier=gold", entries.get(0).getDetail());
      assertThat(entries).allSatisfy(entry -> assertThat(java.time.Instant.parse(entry.getAt())).isBefore(java.time.Instant.now().plusSeconds(60)));

      // Over HTTP and the CLI, the same entries.
      HttpResponse<String> listed = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.httpPort() + "/admin/audit?count=10&user="
          + URLEncoder.encode(user, StandardCharsets.UTF_8))).header("Authorization", "Bearer " + CI).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, listed.statusCode(), listed.body());
      JsonArray json = new JsonObject(listed.body()).getJsonArray("entries");
      assertEquals(4, json.size());
      assertEquals(entries.get(1).getId(), json.getJsonObject(1).getString("id"));
      assertEquals("ci-bot", json.getJsonObject(1).getString("actor"));
      Cli.Run audit = Cli.run("audit", "--target", "127.0.0.1:" + b.port(), "--token", ALICE, "--user", user);
      assertEquals(0, audit.exitCode(), audit.err());
      assertThat(audit.out().lines().toList()).hasSize(4).first().asString().contains(" admin via=cli tier.set user=" + user + " ok \"tier=gold\"");
      HttpResponse<String> badCount = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.httpPort() + "/admin/audit?count=0"))
          .header("Authorization", "Bearer " + CI).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(400, badCount.statusCode());
      assertThat(badCount.body()).contains("\"field\":\"count\"");

      // Recorded once, in Redis: and no token, of any name, appears in the trail or in any log line.
      String stream = redis.command(Command.XRANGE, AuditTrail.KEY, "-", "+").toString();
      assertEquals(4, stream.split(user, -1).length - 1 - (int) entries.stream().filter(e -> e.getDetail().contains(user)).count(),
          "each action once: " + stream);
      for (String token : List.of(ALICE, CI, SluiceFixture.ADMIN_TOKEN)) {
        assertThat(stream).doesNotContain(token);
        assertThat(logs.events()).noneMatch(event -> event.getFormattedMessage().contains(token));
      }
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
