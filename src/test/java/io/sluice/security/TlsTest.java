package io.sluice.security;

import ch.qos.logback.classic.spi.ILoggingEvent;
import io.sluice.demo.DemoBackendVerticle;
import io.sluice.grpc.ClientAccess;
import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.redis.LocalRedis;
import io.sluice.redis.RedisBinary;
import io.sluice.support.Certificates;
import io.sluice.support.Cli;
import io.sluice.support.Ports;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.support.LogCapture;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * TLS wherever Sluice's data travels, with certificates made here: the gRPC port (and mTLS), the
 * ops port, the CLI and the demo backend as clients, and Redis over rediss:// with an ACL user.
 */
@ExtendWith(RedisExtension.class)
class TlsTest {

  private static final String LIMITS = "{ \"rules\": { \"default\": { \"capacity\": 100, \"refillPerSecond\": 10 } } }";

  @TempDir
  static Path dir;
  private static Certificates ca;
  private static Certificates.Pem server;
  private static Certificates.Pem client;
  private static Certificates.Pem rogueClient;
  private static Vertx vertx;

  @BeforeAll
  static void certificates() {
    ca = Certificates.authority(dir, "sluice");
    server = ca.server("sluice-a");
    client = ca.client("backend");
    rogueClient = Certificates.authority(dir, "rogue").client("intruder");
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void grpcServesTlsOnlyWhenACertificateIsSet(TestRedis redis) throws Exception {
    JsonObject settings = new JsonObject().put("tlsCert", server.cert().toString()).put("tlsKey", server.key().toString());
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, settings)) {
      assertThat(check(sluice, new ClientAccess(true, ca.caCert().toString(), "", "", "")).getDecision()).isEqualTo(Decision.ALLOW);
      assertFalse(succeeds(sluice, ClientAccess.PLAIN), "plain text is refused");
      assertFalse(succeeds(sluice, new ClientAccess(true, "", "", "", "")), "a client that does not trust the CA gives up");

      Cli.Run cli = Cli.run("check", "--target", "localhost:" + sluice.port(), "--tls-ca", ca.caCert().toString(),
          "--user", "cli", "--action", "login");
      assertEquals(0, cli.exitCode(), cli.err());
      assertThat(cli.out()).startsWith("ALLOW");
      // What goes wrong says what to pass.
      assertThat(Cli.run("check", "--target", "localhost:" + sluice.port(), "--tls", "--user", "cli", "--action", "login").err())
          .contains("its certificate is not trusted (pass the CA that signed it with --tls-ca)");
      assertThat(Cli.run("check", "--target", "localhost:" + sluice.port(), "--user", "cli", "--action", "login").err())
          .contains("closed the connection without an answer: if it serves TLS, add --tls (and --tls-ca)");
    }
  }

  @Test
  void withAClientCaOnlyClientsWithACertificateItSignedGetIn(TestRedis redis) throws Exception {
    JsonObject settings = new JsonObject().put("tlsCert", server.cert().toString()).put("tlsKey", server.key().toString())
        .put("tlsClientCa", ca.caCert().toString());
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, settings)) {
      ClientAccess trusted = new ClientAccess(true, ca.caCert().toString(), client.cert().toString(), client.key().toString(), "");
      assertThat(check(sluice, trusted).getDecision()).isEqualTo(Decision.ALLOW);
      assertFalse(succeeds(sluice, new ClientAccess(true, ca.caCert().toString(), "", "", "")), "no client certificate");
      assertThat(Cli.run("check", "--target", "localhost:" + sluice.port(), "--tls-ca", ca.caCert().toString(),
          "--user", "cli", "--action", "login").err())
          .contains("if it requires client certificates (mTLS), pass --tls-cert and --tls-key");
      assertFalse(succeeds(sluice, new ClientAccess(true, ca.caCert().toString(), rogueClient.cert().toString(),
          rogueClient.key().toString(), "")), "a certificate another CA signed");

      // The demo backend, as a backend would, over mTLS.
      DemoBackendVerticle demo = new DemoBackendVerticle("127.0.0.1", 0, List.of(SocketAddress.inetSocketAddress(sluice.port(), "localhost")),
          trusted);
      vertx.deployVerticle(demo).await(10, TimeUnit.SECONDS);
      HttpResponse<String> login = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + demo.actualPort() + "/login?user=tls")).POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, login.statusCode(), login.body());
      assertThat(login.headers().firstValue("Sluice-Instance")).as("answered by sluice, not by the fail-open path").isPresent();
    }
  }

  @Test
  void theOpsPortServesTlsAndMutualTlsWhenAsked(TestRedis redis) throws Exception {
    JsonObject settings = new JsonObject().put("tlsCert", server.cert().toString()).put("tlsKey", server.key().toString())
        .put("tlsClientCa", ca.caCert().toString()).put("httpTls", "mtls");
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, settings)) {
      URI ready = URI.create("https://localhost:" + sluice.httpPort() + "/health/live");
      assertEquals(200, https(sslContext(client), ready));
      assertThrows(Exception.class, () -> https(sslContext(null), ready), "no client certificate");
      assertThrows(Exception.class, () -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(
          URI.create("http://localhost:" + sluice.httpPort() + "/health/live")).build(), HttpResponse.BodyHandlers.discarding()),
          "plain HTTP");
    }
  }

  /** The ACL docs/security.md recommends, read from it: its words after {@code ACL SETUSER}, with the password filled in. */
  private static List<String> recommendedAcl(String password) throws IOException {
    String doc = Files.readString(Path.of("docs/security.md"));
    String block = doc.substring(doc.indexOf("ACL SETUSER ") + "ACL SETUSER ".length());
    block = block.substring(0, block.indexOf("```"));
    return Stream.of(block.trim().split("\\s+")).map(word -> word.equals(">REPLACE-ME") ? ">" + password : word).toList();
  }

  /** The ACL user is the one docs/security.md recommends, command for command (read from it). */
  @Test
  void redisOverTlsWithAnAclUserFromTheSettingsAndNoSecretInTheLogs() throws Exception {
    Certificates.Pem redisCert = ca.server("redis");
    int port = Ports.free();
    String password = "redis-password-" + System.nanoTime();
    List<String> tls = List.of("--tls-port", String.valueOf(port), "--tls-cert-file", redisCert.cert().toString(),
        "--tls-key-file", redisCert.key().toString(), "--tls-ca-cert-file", ca.caCert().toString(), "--tls-auth-clients", "no");
    // Only a redis-server without TLS skips the test; with TLS, a Redis that will not start (the ACL of
    // docs/security.md refused, say) fails it.
    try (LocalRedis probe = LocalRedis.start(RedisBinary.resolve(), 0, tls.toArray(String[]::new))) {
      probe.port();
    } catch (Exception e) {
      Assumptions.abort("redis-server " + RedisBinary.resolve() + " cannot serve TLS here (" + e.getMessage().lines().findFirst().orElse("")
          + "); install a redis-server built with TLS (Debian's redis-server 7 is) to run this test");
      return;
    }
    LocalRedis redis = LocalRedis.start(RedisBinary.resolve(), 0, Stream.of(tls.stream(), Stream.of("--user", "default", "off", "--user"),
        recommendedAcl(password).stream()).flatMap(args -> args).toArray(String[]::new));
    LogCapture logs = LogCapture.root();
    JsonObject settings = new JsonObject().put("redisUser", "sluice").put("redisPassword", password)
        .put("redisTlsCa", ca.caCert().toString());
    try (logs; redis; SluiceFixture sluice = SluiceFixture.start("rediss://localhost:" + port, LIMITS, settings).awaitSubscribed()) {
      CheckResponse decided = sluice.check("over-tls", "login");
      assertEquals(Decision.ALLOW, decided.getDecision());
      assertFalse(decided.getDegraded(), "decided by redis, over TLS, as the ACL user");
      assertEquals(99, decided.getRemaining());
      // Bans (script, SCAN, PUBLISH, acknowledgements) work under the same user.
      sluice.await(sluice.client().ban("over-tls", "", 60, "acl"));
      assertEquals(1, sluice.await(sluice.client().unban("over-tls", "")).getRemoved());
      // The audit trail (XADD, XREVRANGE), the fleet's statuses (the heartbeat's HSET, ZRANGE), and a limits
      // publish with its history (WATCH, MULTI, XADD, PUBLISH) work under the same user.
      assertThat(sluice.await(sluice.client().listAudit(2, "over-tls")).getEntriesList()).extracting(e -> e.getAction() + " " + e.getOutcome())
          .containsExactly("unban ok", "ban ok");
      java.net.http.HttpClient plain = java.net.http.HttpClient.newHttpClient();
      String admin = "http://127.0.0.1:" + sluice.httpPort() + "/admin/";
      java.net.http.HttpResponse<String> fleet = plain.send(HttpRequest.newBuilder(URI.create(admin + "fleet"))
          .header("Authorization", "Bearer " + SluiceFixture.ADMIN_TOKEN).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(fleet.body()).contains("\"ready\":true");
      java.net.http.HttpResponse<String> published = plain.send(HttpRequest.newBuilder(URI.create(admin + "limits"))
          .header("Authorization", "Bearer " + SluiceFixture.ADMIN_TOKEN)
          .POST(HttpRequest.BodyPublishers.ofString("{\"rules\": {\"export\": {\"capacity\": 3, \"refillPerSecond\": 1}}}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, published.statusCode(), published.body());
      java.net.http.HttpResponse<String> history = plain.send(HttpRequest.newBuilder(URI.create(admin + "limits/history"))
          .header("Authorization", "Bearer " + SluiceFixture.ADMIN_TOKEN).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(history.body()).contains("\"version\":1").contains("\"actor\":\"admin\"");
      assertEquals("true", String.valueOf(sluice.sluice().health().toJson().getBoolean("redis")));
      assertThat(sluice.sluice().settings().toString()).doesNotContain(password);
    }
    assertThat(logs.events()).extracting(ILoggingEvent::getFormattedMessage).noneMatch(line -> line.contains(password));
  }

  private CheckResponse check(SluiceFixture sluice, ClientAccess access) throws Exception {
    return client(sluice, access).check("tls-user", "login", 1).await(10, TimeUnit.SECONDS);
  }

  private boolean succeeds(SluiceFixture sluice, ClientAccess access) {
    try {
      check(sluice, access);
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private SluiceClient client(SluiceFixture sluice, ClientAccess access) {
    return new SluiceClient(vertx, SocketAddress.inetSocketAddress(sluice.port(), "localhost"), access);
  }

  private static int https(SSLContext context, URI uri) throws Exception {
    return HttpClient.newBuilder().sslContext(context).build()
        .send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  /** A JDK SSL context trusting the test CA, presenting {@code clientPem} when not null. */
  private static SSLContext sslContext(Certificates.Pem clientPem) throws Exception {
    CertificateFactory certificates = CertificateFactory.getInstance("X.509");
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (var in = Files.newInputStream(ca.caCert())) {
      trust.setCertificateEntry("ca", certificates.generateCertificate(in));
    }
    TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trustManagers.init(trust);
    KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    KeyStore keys = KeyStore.getInstance("PKCS12");
    keys.load(null, null);
    if (clientPem != null) {
      String pem = Files.readString(clientPem.key()).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
      var key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
      Certificate cert;
      try (var in = Files.newInputStream(clientPem.cert())) {
        cert = certificates.generateCertificate(in);
      }
      keys.setKeyEntry("client", key, new char[0], new Certificate[] {cert});
    }
    keyManagers.init(keys, new char[0]);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(keyManagers.getKeyManagers(), trustManagers.getTrustManagers(), null);
    return context;
  }
}
