package io.sluice.deploy;

import io.sluice.support.Ports;
import io.sluice.support.Processes.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static io.sluice.support.Processes.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The local fleet as a user runs it: {@code make run}, a check on each instance, a request through
 * the demo backend, a short simulation, {@code make stop}, and not one process left behind. On
 * free ports and a run directory of its own, so that it never meets a fleet someone already runs.
 */
class LocalFleetIT {

  private static final String JAVA = ProcessHandle.current().info().command().orElse("java");

  @Test
  void makeRunServesBothInstancesAndMakeStopLeavesNothingBehind(@TempDir Path runDir) throws Exception {
    int grpcA = Ports.free();
    int grpcB = Ports.free();
    int demo = Ports.free();
    int httpA = Ports.free();
    int httpB = Ports.free();
    Map<String, String> env = Map.of(
        "SLUICE_RUN_DIR", runDir.toString(),
        "SLUICE_FLEET_PORTS", grpcA + " " + grpcB,
        "SLUICE_FLEET_HTTP_PORTS", httpA + " " + httpB,
        "SLUICE_REDIS_PORT", String.valueOf(Ports.free()),
        "SLUICE_DEMO_PORT", String.valueOf(demo));
    List<Long> pids = new ArrayList<>();
    try {
      Result up = run(env, 180, "make", "run");
      assertEquals(0, up.exitCode(), up.output());
      pids.addAll(pids(runDir));
      assertThat(pids).as("redis, two instances, the demo backend").hasSize(4);
      if (io.sluice.support.Processes.onPath("ss")) {
        for (int port : new int[] {grpcA, grpcB, httpA, httpB, demo}) {
          Result listening = run(env, 10, "ss", "-ltnH", "sport = :" + port);
          assertThat(listening.output().strip()).as("port %d listens on loopback only", port).isNotEmpty()
              .doesNotContain("0.0.0.0:" + port, "*:" + port, "[::]:" + port)
              // Java's sockets show loopback as IPv4-mapped IPv6.
              .containsPattern("(^|\\s)(127\\.0\\.0\\.1|\\[::ffff:127\\.0\\.0\\.1\\]):" + port + "\\s");
        }
      }

      for (int port : new int[] {grpcA, grpcB}) {
        Result check = run(env, 60, JAVA, "-jar", "target/sluice.jar", "check", "--target", "127.0.0.1:" + port,
            "--user", "fleet-it-" + port, "--action", "login");
        assertEquals(0, check.exitCode(), check.output());
        assertThat(check.output()).contains("ALLOW rule=login limit=5");
      }

      HttpResponse<String> login = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + demo + "/login")).POST(HttpRequest.BodyPublishers.ofString("{\"user\":\"fleet-it\"}")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, login.statusCode(), login.body());
      assertThat(login.headers().firstValue("RateLimit-Policy")).contains("\"login\";q=5;w=25");

      assertThat(Files.getPosixFilePermissions(runDir.resolve("admin-token"))).as("the generated admin token is the user's alone")
          .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
      Result simulation = run(env, 120, JAVA, "-jar", "target/sluice.jar", "simulate",
          "--targets", "127.0.0.1:" + grpcA + ",127.0.0.1:" + grpcB, "--seconds", "3",
          "--token-file", runDir.resolve("admin-token").toString());
      assertEquals(0, simulation.exitCode(), simulation.output());
      assertThat(simulation.output()).contains("accuracy: OK");

      // The load generator is its own jar beside the service's, which only loads it when asked.
      Result bench = run(env, 60, JAVA, "-jar", "target/sluice.jar", "bench", "--targets", "127.0.0.1:" + grpcA,
          "--seconds", "1", "--warmup-seconds", "0", "--concurrency", "2");
      assertEquals(0, bench.exitCode(), bench.output());
      assertThat(bench.output()).containsPattern("checks: [1-9][0-9]* ").contains("decided");
      try (JarFile service = new JarFile("target/sluice.jar")) {
        assertThat(service.stream().map(JarEntry::getName))
            .as("the service's jar").noneMatch(name -> name.startsWith("io/sluice/bench/"));
      }
    } finally {
      Result down = run(env, 120, "make", "stop");
      assertEquals(0, down.exitCode(), down.output());
    }
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("process %d after make stop", pid).isFalse();
    }
    try (Stream<Path> left = Files.list(runDir)) {
      assertThat(left.filter(file -> file.toString().endsWith(".pid"))).as("pid files").isEmpty();
    }
  }

  /**
   * {@code SLUICE_REDIS_MODE=cluster}: the fleet on a local Redis Cluster of three masters, the
   * instances in cluster mode, a limits change published to both, and nothing left after the stop.
   */
  @Test
  void theFleetRunsOnALocalClusterAndPublishesLimitsToIt(@TempDir Path runDir) throws Exception {
    int grpcA = Ports.free();
    int grpcB = Ports.free();
    Map<String, String> env = Map.of(
        "SLUICE_RUN_DIR", runDir.toString(),
        "SLUICE_REDIS_MODE", "cluster",
        "SLUICE_CLUSTER_PORTS", Ports.free() + " " + Ports.free() + " " + Ports.free(),
        "SLUICE_FLEET_PORTS", grpcA + " " + grpcB,
        "SLUICE_FLEET_HTTP_PORTS", Ports.free() + " " + Ports.free(),
        "SLUICE_DEMO_PORT", "0");
    List<Long> pids = new ArrayList<>();
    try {
      Result up = run(env, 180, "scripts/fleet.sh", "up");
      assertEquals(0, up.exitCode(), up.output());
      pids.addAll(pids(runDir));
      assertThat(pids).as("three redis nodes, two instances").hasSize(5);
      assertThat(up.output()).contains("starting a redis cluster of 3 masters");

      // Without SLUICE_REDIS or the mode in the environment: the script finds the fleet's in the run directory.
      Result published = run(Map.of("SLUICE_RUN_DIR", runDir.toString()), 60, "scripts/publish-limits.sh",
          "{\"rules\": {\"login\": {\"capacity\": 7, \"refillPerSecond\": 1}}}");
      assertEquals(0, published.exitCode(), published.output());
      assertThat(published.output()).contains("published to 2 instance(s)");
      for (int port : new int[] {grpcA, grpcB}) {
        Result check = run(env, 60, JAVA, "-jar", "target/sluice.jar", "check", "--target", "127.0.0.1:" + port,
            "--user", "cluster-it-" + port, "--action", "login");
        assertEquals(0, check.exitCode(), check.output());
        assertThat(check.output()).contains("ALLOW rule=login limit=7");
      }
    } finally {
      Result down = run(env, 120, "scripts/fleet.sh", "down");
      assertEquals(0, down.exitCode(), down.output());
    }
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("process %d after the stop", pid).isFalse();
    }
    try (Stream<Path> left = Files.list(runDir)) {
      assertThat(left.filter(file -> file.toString().endsWith(".pid") || file.getFileName().toString().startsWith("nodes-")))
          .as("pid files and cluster node tables").isEmpty();
    }
  }

  /**
   * Ctrl-C in a terminal signals the whole foreground process group at once. The fleet must still
   * stop in order: the instances drain while Redis answers, and Redis stops last.
   */
  @Test
  void ctrlCOnTheForegroundFleetDrainsTheInstancesWhileRedisStillAnswers(@TempDir Path runDir) throws Exception {
    ProcessBuilder builder = new ProcessBuilder("setsid", "scripts/fleet.sh").redirectErrorStream(true);
    builder.environment().putAll(Map.of(
        "SLUICE_RUN_DIR", runDir.toString(),
        "SLUICE_FLEET_PORTS", Ports.free() + " " + Ports.free(),
        "SLUICE_FLEET_HTTP_PORTS", Ports.free() + " " + Ports.free(),
        "SLUICE_REDIS_PORT", String.valueOf(Ports.free()),
        "SLUICE_DEMO_PORT", "0"));
    Process fleet = builder.start();
    List<Long> pids = new ArrayList<>();
    StringBuilder output = new StringBuilder();
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(fleet.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null && !line.contains("Ctrl-C stops the fleet")) {
        output.append(line).append('\n');
      }
      assertThat(line).as("the fleet came up: %s", output).isNotNull();
      pids.addAll(pids(runDir));
      assertThat(pids).as("redis and two instances").hasSize(3);

      // setsid made the script the leader of its own group: signal that group, as a terminal does.
      assertEquals(0, run(Map.of(), 10, "kill", "-INT", "--", "-" + fleet.pid()).exitCode());
      // A fleet that ignored the Ctrl-C would keep this read waiting for ever: past a minute the script
      // is killed (which ends the read, and fails the exit code below) and the finally block stops the rest.
      CompletableFuture.delayedExecutor(60, TimeUnit.SECONDS).execute(fleet::destroyForcibly);
      while ((line = lines.readLine()) != null) {
        output.append(line).append('\n');
      }
    } finally {
      if (!fleet.waitFor(60, TimeUnit.SECONDS) || fleet.exitValue() != 0) {
        fleet.destroyForcibly();
        run(Map.of("SLUICE_RUN_DIR", runDir.toString()), 60, "scripts/fleet.sh", "down");
      }
    }
    assertEquals(0, fleet.exitValue(), output.toString());
    assertThat(output.toString()).containsSubsequence("instances stopped; stopping redis", "fleet: stopped");
    for (String instance : List.of("sluice-1.log", "sluice-2.log")) {
      String log = Files.readString(runDir.resolve(instance));
      assertThat(log).as("%s says it drains", instance).contains("not ready");
      String drain = log.substring(log.indexOf("not ready"));
      assertThat(drain).as("%s while draining", instance).contains("\"redis\":true").contains("\"draining\":true")
          .contains("io.sluice.Main - stopped")
          .doesNotContain("subscription lost").doesNotContain("circuit breaker").doesNotContain("ERROR");
    }
    assertThat(Files.readString(runDir.resolve("redis.log"))).as("redis was stopped by the script, after the instances, not by the Ctrl-C")
        .contains("Received SIGTERM").doesNotContain("SIGINT");
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).as("process %d after Ctrl-C", pid).isFalse();
    }
  }

  private static List<Long> pids(Path runDir) throws IOException {
    try (Stream<Path> files = Files.list(runDir)) {
      return files.filter(file -> file.toString().endsWith(".pid")).map(file -> {
        try {
          return Long.parseLong(Files.readString(file).trim());
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      }).toList();
    }
  }
}
