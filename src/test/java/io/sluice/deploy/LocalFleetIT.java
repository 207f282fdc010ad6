package io.sluice.deploy;

import io.sluice.support.Ports;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

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
    Map<String, String> env = Map.of(
        "SLUICE_RUN_DIR", runDir.toString(),
        "SLUICE_FLEET_PORTS", grpcA + " " + grpcB,
        "SLUICE_FLEET_HTTP_PORTS", Ports.free() + " " + Ports.free(),
        "SLUICE_REDIS_PORT", String.valueOf(Ports.free()),
        "SLUICE_DEMO_PORT", String.valueOf(demo));
    List<Long> pids = new ArrayList<>();
    try {
      Result up = run(env, 180, "make", "run");
      assertEquals(0, up.exitCode(), up.output());
      pids.addAll(pids(runDir));
      assertThat(pids).as("redis, two instances, the demo backend").hasSize(4);

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

  private record Result(int exitCode, String output) {
  }

  private static Result run(Map<String, String> env, int timeoutSeconds, String... command) throws Exception {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putAll(env);
    Process process = builder.start();
    // Read in the background: a command that fills the pipe must not stall on it.
    var output = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return new String(process.getInputStream().readAllBytes());
      } catch (IOException e) {
        return "(output lost: " + e + ")";
      }
    });
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      return new Result(-1, "timed out: " + String.join(" ", command) + "\n" + output.get(10, TimeUnit.SECONDS));
    }
    return new Result(process.exitValue(), output.get(10, TimeUnit.SECONDS));
  }
}
