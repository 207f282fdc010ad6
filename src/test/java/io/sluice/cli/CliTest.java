package io.sluice.cli;

import io.sluice.support.Ports;
import io.sluice.support.Cli;
import io.sluice.support.Cli.Run;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The jar's command line, run in-process against a real instance. */
@ExtendWith(RedisExtension.class)
class CliTest {

  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 2, "refillPerSecond": 0.001 },
                   "login": { "capacity": 1, "refillPerSecond": 0.001 },
                   "jobs": { "capacity": 1000000, "refillPerSecond": 1000000, "concurrency": { "maxInFlight": 4, "leaseSeconds": 60 } } } }
      """;

  @Test
  void checkPrintsTheDecisionOfTheInstance(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String user = "cli-" + UUID.randomUUID();
      Run first = Cli.run("check", "--target", "127.0.0.1:" + sluice.port(), "--user", user, "--action", "login");
      assertEquals(0, first.exitCode());
      assertThat(first.out()).startsWith("ALLOW rule=login limit=1 remaining=0 retry_after_ms=0 reset_after_ms=1000000");

      Run second = Cli.run("check", "--target", "127.0.0.1:" + sluice.port(), "--user", user, "--action", "login", "--cost", "1");
      assertThat(second.out()).startsWith("DENY rule=login");
    }
  }

  @Test
  void checkSaysWhatShadowModeLetThroughAndHowLongABanLasts(TestRedis redis) throws Exception {
    String limits = """
        { "rules": { "default": { "capacity": 2, "refillPerSecond": 0.001 },
                     "login": { "capacity": 1, "refillPerSecond": 0.001, "shadow": true,
                                "abuse": { "maxViolations": 2, "banSeconds": 60 } } } }
        """;
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), limits)) {
      String target = "127.0.0.1:" + sluice.port();
      String user = "cli-" + UUID.randomUUID();
      assertThat(Cli.run("check", "--target", target, "--user", user, "--action", "login").out())
          .isEqualTo("ALLOW rule=login limit=1 remaining=0 retry_after_ms=0 reset_after_ms=1000000 violations=0/2\n");
      assertThat(Cli.run("check", "--target", target, "--user", user, "--action", "login").out())
          .startsWith("ALLOW rule=login").contains(" violations=1/2 shadow=true shadow_decision=DENY");
      assertThat(Cli.run("check", "--target", target, "--user", user, "--action", "login").out())
          .startsWith("ALLOW rule=login").contains(" violations=2/2 shadow=true shadow_decision=BAN ban_remaining_ms=60000 ban_level=1")
          .contains("ban_reason=\"2 violations of rule login within 60s\"");
    }
  }

  @Test
  void checkReportsInvalidInputNamingTheField(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      Run run = Cli.run("check", "--target", "127.0.0.1:" + sluice.port(), "--user", "", "--action", "login");
      assertEquals(1, run.exitCode());
      assertThat(run.err()).contains("INVALID_ARGUMENT").contains("user_id must be 1 to 256 bytes");
    }
  }

  @Test
  void serverRefusesToStartWithInvalidLimitsNamingFieldValueAndExpectation(TestRedis redis, @TempDir Path dir) throws Exception {
    Path limits = dir.resolve("limits.json");
    Files.writeString(limits, LIMITS.replace("\"capacity\": 1", "\"capacity\": -5"));
    Run run = Cli.run("--port", String.valueOf(Ports.free()), "--redis", redis.uri(), "--limits", limits.toString());
    assertEquals(1, run.exitCode());
    assertThat(run.err()).contains("rules.login.capacity must be a whole number from 1 to 1000000000, was -5");
  }

  @Test
  void aPortInUseIsNamedWithItsListener(TestRedis redis, @TempDir Path dir) throws Exception {
    Path limits = Files.writeString(dir.resolve("limits.json"), LIMITS);
    try (SluiceFixture running = SluiceFixture.start(redis.uri(), LIMITS)) {
      Run grpcClash = Cli.run("--port", String.valueOf(running.port()), "--http-port", String.valueOf(Ports.free()),
          "--redis", redis.uri(), "--limits", limits.toString());
      assertEquals(1, grpcClash.exitCode());
      assertThat(grpcClash.err()).contains("gRPC port 0.0.0.0:" + running.port() + " is already in use").contains("--port");

      Run httpClash = Cli.run("--port", String.valueOf(Ports.free()), "--http-port", String.valueOf(running.httpPort()),
          "--redis", redis.uri(), "--limits", limits.toString());
      assertEquals(1, httpClash.exitCode());
      assertThat(httpClash.err()).contains("HTTP (metrics, health, admin) port 0.0.0.0:" + running.httpPort() + " is already in use")
          .contains("--http-port");
    }
  }

  @Test
  void serverRefusesToStartWithInvalidEnvoyRulesNamingFileAndField(TestRedis redis, @TempDir Path dir) throws Exception {
    Path limits = Files.writeString(dir.resolve("limits.json"), LIMITS);
    Path rules = Files.createDirectory(dir.resolve("envoy"));
    Files.writeString(rules.resolve("edge.yaml"), "domain: edge\ndescriptors:\n  - key: ip\n    rate_limit: {unit: second, requests_per_unit: -1}\n");
    Run run = Cli.run("--port", String.valueOf(Ports.free()), "--http-port", String.valueOf(Ports.free()), "--redis", redis.uri(),
        "--limits", limits.toString(), "--envoy-rules", rules.toString());
    assertEquals(1, run.exitCode());
    assertThat(run.err()).contains("edge.yaml: descriptors[0].rate_limit.requests_per_unit must be a whole number from 0 to 4294967295, was '-1'");
  }

  /** Every RPC can be tried from a shell: CheckBatch and ReportLatency too. */
  @Test
  void checkBatchAndReportLatencyFromTheCommandLine(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String target = "127.0.0.1:" + sluice.port();
      String user = "cli-" + UUID.randomUUID();
      Run batch = Cli.run("check-batch", "--target", target, "--check", user + ":search:2", "--check", user + ":search",
          "--all-or-nothing");
      assertEquals(0, batch.exitCode(), batch.err());
      List<String> lines = batch.out().lines().toList();
      assertThat(lines).hasSize(3);
      assertEquals("DENY", lines.get(0));
      assertThat(lines.get(1)).startsWith("  ALLOW rule=default").endsWith("given_back=true");
      assertThat(lines.get(2)).startsWith("  DENY rule=default");
      assertThat(Cli.run("check", "--target", target, "--user", user, "--action", "search", "--cost", "2").out())
          .as("the batch took nothing").startsWith("ALLOW");
      assertThat(Cli.run("check-batch", "--target", target, "--check", "no-action").err())
          .contains("Invalid value for option '--check' (<checks>): must be user:action[:cost], was 'no-action'");

      Run report = Cli.run("report-latency", "--target", target, "--action", "login", "--latency-ms", "12.5,40", "--latency-ms", "8");
      assertEquals(0, report.exitCode(), report.err());
      assertThat(report.out()).startsWith("factor=");
    }
  }

  /** Each failure says what to fix: the option, the setting, the port; never "failed: null". */
  @Test
  void failuresSayWhatToFix(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String target = "127.0.0.1:" + sluice.port();
      assertThat(Cli.run("ban", "--target", target, "--user", "u", "--seconds", "60").err())
          .contains("no admin token was given: pass --token-file FILE (or set SLUICE_ADMIN_TOKEN)");
      assertThat(Cli.run("ban", "--target", target, "--token", "wrong", "--user", "u", "--seconds", "60").err())
          .contains("the token from --token was refused");
      assertThat(Cli.run("check", "--target", "127.0.0.1:" + sluice.httpPort(), "--user", "u", "--action", "login").err())
          .contains("answered as an HTTP server, not gRPC: that is an instance's HTTP port");
      int nobody = Ports.free();
      assertThat(Cli.run("check", "--target", "127.0.0.1:" + nobody, "--user", "u", "--action", "login").err())
          .contains("cannot connect to 127.0.0.1:" + nobody + ": Connection refused (is an instance listening there?)");
      assertThat(Cli.run("check", "--target", target, "--tls", "--user", "u", "--action", "login").err())
          .contains("it does not speak TLS there (drop --tls");

      Run negative = Cli.run("check", "--target", target, "--user", "u", "--action", "login", "--cost", "-1");
      assertEquals(2, negative.exitCode());
      assertThat(negative.err()).contains("Invalid value for option '--cost': must be 0 or more, was -1").doesNotContain("4294967295");
      assertThat(Cli.run("ban", "--target", target, "--user", "u", "--seconds", "-1").err())
          .contains("Invalid value for option '--seconds': must be from 1 to 31536000 (a year), was -1");
      assertThat(Cli.run("check", "--target", target, "--user", "u", "--acton", "login").err())
          .startsWith("Unknown option: '--acton' (did you mean --action?)");
      // An option's value that starts with '-' (a token) is neither taken for an option nor printed.
      assertThat(Cli.run("ban", "--target", target, "--token", "-secret-token", "--user", "u").err())
          .contains("Missing required option").doesNotContain("-secret-token");
      assertThat(Cli.run("should-rate-limit", "--target", target, "--domain", "edge", "--descriptor", "foo").err())
          .contains("must be key=value[,key=value...], and 'foo' has no key=value");
    }
    Run relative = Cli.run("--port", String.valueOf(Ports.free()), "--http-port", String.valueOf(Ports.free()), "--redis", redis.uri(),
        "--limits", "no-such-limits.json");
    assertThat(relative.exitCode()).isNotZero();
    assertThat(relative.err()).contains("cannot read limits file no-such-limits.json (relative to the working directory "
        + System.getProperty("user.dir") + ")");
    Path large = Files.createTempFile("sluice-large-limits", ".json");
    try {
      // Valid limits, 2 MiB of them: above the default maxLimitsFileBytes (1 MiB), refused before they are read.
      Files.writeString(large, LIMITS + " ".repeat(2 << 20));
      Run tooLarge = Cli.run("--port", String.valueOf(Ports.free()), "--http-port", String.valueOf(Ports.free()), "--redis", redis.uri(),
          "--limits", large.toString());
      assertThat(tooLarge.exitCode()).isNotZero();
      assertThat(tooLarge.err()).contains("limits file " + large + " is " + Files.size(large) + " bytes, above maxLimitsFileBytes (1048576)");
    } finally {
      Files.deleteIfExists(large);
    }
  }

  @Test
  void banListAndUnbanFromTheCommandLine(TestRedis redis, @TempDir Path dir) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String target = "127.0.0.1:" + sluice.port();
      String user = "cli-" + UUID.randomUUID();
      // The token from a file, so that it is not on the command line for others to read.
      Path tokenFile = Files.writeString(dir.resolve("token"), SluiceFixture.ADMIN_TOKEN + "\n");
      Run refused = Cli.run("ban", "--target", target, "--user", user, "--seconds", "120");
      assertEquals(1, refused.exitCode());
      assertThat(refused.err()).contains("UNAUTHENTICATED");
      Run ban = Cli.run("ban", "--target", target, "--token-file", tokenFile.toString(), "--user", user, "--action", "login",
          "--seconds", "120", "--reason", "card testing");
      assertEquals(0, ban.exitCode(), ban.err());
      assertThat(ban.out()).startsWith("banned user=" + user + " action=login scope=action remaining_ms=120000");

      assertThat(Cli.run("check", "--target", target, "--user", user, "--action", "login").out())
          .startsWith("BAN rule=login").contains("ban_reason=\"card testing\"");
      assertThat(Cli.run("bans", "--target", target, "--token-file", tokenFile.toString(), "--user", user).out())
          .contains("user=" + user + " action=login scope=action").contains("reason=\"card testing\"");

      Run unban = Cli.run("unban", "--target", target, "--token", SluiceFixture.ADMIN_TOKEN, "--user", user);
      assertEquals(0, unban.exitCode());
      assertThat(unban.out()).contains("lifted 1 ban(s); 1 of 1 instance(s) confirmed");
      assertThat(Cli.run("bans", "--target", target, "--token-file", tokenFile.toString(), "--user", user).out())
          .contains("no active bans");
    }
  }

  @Test
  void publishLimitsRefusesAChangeTheFleetWouldRefuseAndStoresOnlyValidOnes(TestRedis redis, @TempDir Path dir) throws Exception {
    Path limits = Files.writeString(dir.resolve("limits.json"), LIMITS);
    redis.command(io.vertx.redis.client.Command.DEL, io.sluice.redis.RedisKeys.LIMITS_KEY);
    try {
      Run refused = Cli.run("publish-limits", "--redis", redis.uri(), "--limits", limits.toString(), "{\"rules\": {\"default\": null}}");
      assertEquals(1, refused.exitCode());
      assertThat(refused.err()).contains("not published, nothing stored").contains("rules.default is required");
      assertThat(redis.command(io.vertx.redis.client.Command.GET, io.sluice.redis.RedisKeys.LIMITS_KEY)).isNull();

      Run published = Cli.run("publish-limits", "--redis", redis.uri(), "--limits", limits.toString(),
          "{\"rules\": {\"login\": {\"capacity\": 11, \"refillPerSecond\": 1}}}");
      assertEquals(0, published.exitCode(), published.err());
      assertThat(published.out()).startsWith("published to ").contains("stored as version 1 in {sluice}:limits");
    } finally {
      redis.command(io.vertx.redis.client.Command.DEL, io.sluice.redis.RedisKeys.LIMITS_KEY);
    }
  }

  @Test
  void benchMeasuresChecksOrTheBareHealthCallWithEitherClientAndARunThatMeasuredNothingFails(TestRedis redis) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String target = "127.0.0.1:" + sluice.port();
      Run checks = Cli.run("bench", "--targets", target, "--seconds", "1", "--warmup-seconds", "0", "--concurrency", "4");
      assertEquals(0, checks.exitCode(), checks.err());
      assertThat(checks.out()).contains("action api").containsPattern("checks: [1-9][0-9]* ").contains("decided");

      Run health = Cli.run("bench", "--targets", target, "--seconds", "1", "--warmup-seconds", "0", "--concurrency", "4", "--call", "health");
      assertEquals(0, health.exitCode(), health.err());
      assertThat(health.out()).contains("grpc.health.v1.Health/Check instead of checks").containsPattern("checks: [1-9][0-9]* ");

      Run lean = Cli.run("bench", "--targets", target, "--seconds", "1", "--warmup-seconds", "0", "--concurrency", "4", "--client", "lean");
      assertEquals(0, lean.exitCode(), lean.err());
      assertThat(lean.out()).containsPattern("checks: [1-9][0-9]* ").contains("decided");

      // A lease taken and given back per answer: four in flight on four slots, so every one is granted and released.
      for (String call : List.of("acquire", "check-acquire")) {
        Run leases = Cli.run("bench", "--targets", target, "--seconds", "1", "--warmup-seconds", "0", "--concurrency", "4", "--users", "1",
            "--action", "jobs", "--call", call);
        assertEquals(0, leases.exitCode(), leases.err());
        assertThat(leases.out()).containsPattern("checks: [1-9][0-9]* ").contains("deny 0").contains("errors: 0");
      }
      assertThat(redis.command(io.vertx.redis.client.Command.EXISTS, io.sluice.redis.RedisKeys.leases("bench-0", "jobs")).toInteger())
          .as("every lease released").isZero();
      Run leanLeases = Cli.run("bench", "--targets", target, "--client", "lean", "--call", "acquire");
      assertEquals(2, leanLeases.exitCode());
      assertThat(leanLeases.err()).contains("needs --client grpc");

      assertEquals(2, Cli.run("bench", "--targets", target, "--call", "ping").exitCode());
      assertEquals(2, Cli.run("bench", "--targets", target, "--client", "h2load").exitCode());
      Run leanTls = Cli.run("bench", "--targets", target, "--client", "lean", "--tls");
      assertEquals(2, leanTls.exitCode());
      assertThat(leanTls.err()).contains("--client lean speaks plain HTTP/2 only");
    }
    Run leanNobody = Cli.run("bench", "--targets", "127.0.0.1:" + Ports.free(), "--client", "lean", "--seconds", "1");
    assertEquals(1, leanNobody.exitCode());
    assertThat(leanNobody.err()).contains("bench: cannot connect to");
    Run nobody = Cli.run("bench", "--targets", "127.0.0.1:" + Ports.free(), "--seconds", "1", "--warmup-seconds", "0");
    assertEquals(1, nobody.exitCode());
    assertThat(nobody.err()).contains("nothing was decided: every answer was degraded or an error");
    assertThat(nobody.out()).contains("UNREACHABLE").contains("first UNREACHABLE: ").containsIgnoringCase("connection refused");
  }

  @Test
  void redisBinaryPrintsAnExecutable() throws Exception {
    Run run = Cli.run("redis-binary");
    assertEquals(0, run.exitCode());
    assertThat(Files.isExecutable(Path.of(run.out().trim()))).isTrue();
  }
}
