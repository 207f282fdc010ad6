package io.sluice.docs;

import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The clients under examples/, in their own languages, against a live instance: each checks, tells
 * ALLOW, DENY and BAN apart as its backend's HTTP answer, and gives up at its deadline on a Sluice
 * that does not answer. Skipped, saying why, where the runtime or its gRPC library is missing.
 */
@ExtendWith(RedisExtension.class)
class ExamplesTest {

  private static final String LIMITS = """
      { "rules": { "default": { "capacity": 100, "refillPerSecond": 10 },
                   "login": { "capacity": 1, "refillPerSecond": 0.001,
                              "abuse": { "maxViolations": 2, "windowSeconds": 60, "banSeconds": 600 } } } }
      """;
  private static final Path PYTHON = Path.of("/usr/bin/python3");
  private static final Path NODE = Path.of("/usr/bin/node");

  @Test
  void thePythonClientChecksHandlesDenyAndBanAndKeepsItsDeadline(TestRedis redis, @TempDir Path stubs) throws Exception {
    boolean present = Files.isExecutable(PYTHON) && run(List.of(PYTHON.toString(), "-c", "import grpc, grpc_tools"), null).exit() == 0;
    if (!present) {
      System.out.println("ExamplesTest (Python) skipped: no " + PYTHON + " with grpcio and grpc_tools (apt-get install python3-grpcio python3-grpc-tools)");
    }
    Assumptions.assumeTrue(present, "no python3 with grpcio: apt-get install python3-grpcio python3-grpc-tools");
    // The stubs, generated as the example's comment says.
    Run generated = run(List.of(PYTHON.toString(), "-m", "grpc_tools.protoc", "-I", "src/main/proto", "--python_out=" + stubs,
        "--grpc_python_out=" + stubs, "sluice.proto"), null);
    assertEquals(0, generated.exit(), generated.out());
    List<String> client = List.of(PYTHON.toString(), "examples/python/check.py");
    exercise(redis, client, "PYTHONPATH", stubs.toString());
  }

  @Test
  void theNodeClientChecksHandlesDenyAndBanAndKeepsItsDeadline(TestRedis redis) throws Exception {
    boolean present = Files.isExecutable(NODE) && Files.isDirectory(Path.of("examples/node/node_modules/@grpc/grpc-js"));
    if (!present) {
      System.out.println("ExamplesTest (Node) skipped: no " + NODE + " or no examples/node/node_modules (npm ci --prefix examples/node)");
    }
    Assumptions.assumeTrue(present, "no node or its dependencies: npm ci --prefix examples/node");
    exercise(redis, List.of(NODE.toString(), "examples/node/check.js"), null, null);
  }

  private static void exercise(TestRedis redis, List<String> client, String envName, String envValue) throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      String target = "127.0.0.1:" + sluice.port();
      String user = "example-" + UUID.randomUUID();
      Run allowed = check(client, target, user, envName, envValue);
      assertEquals(0, allowed.exit(), allowed.out());
      assertThat(allowed.out()).startsWith("200 rule=login remaining=0");
      Run denied = check(client, target, user, envName, envValue);
      assertEquals(1, denied.exit(), denied.out());
      assertThat(denied.out()).startsWith("429 Retry-After: ").contains("rule=login");
      Run banned = check(client, target, user, envName, envValue);
      assertEquals(2, banned.exit(), banned.out());
      assertThat(banned.out()).startsWith("403 banned for 600 s: 2 violations of rule login within 60s");
      Run invalid = check(client, target, "", envName, envValue);
      assertEquals(4, invalid.exit(), invalid.out());
      assertThat(invalid.out()).startsWith("400 ").contains("user_id");
    }
    // A Sluice that takes the connection and never answers: the deadline ends the wait, and the backend goes ahead.
    try (ServerSocket silent = new ServerSocket(0)) {
      List<Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            held.add(silent.accept());
          }
        } catch (IOException closed) {
          // The test is over.
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      long started = System.nanoTime();
      Run unanswered = check(client, "127.0.0.1:" + silent.getLocalPort(), "someone", envName, envValue);
      assertEquals(3, unanswered.exit(), unanswered.out());
      assertThat(unanswered.out()).startsWith("200 (sluice not asked: DEADLINE_EXCEEDED");
      assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started)).as("given up at the deadline, not the test's").isLessThan(10);
      for (Socket socket : held) {
        socket.close();
      }
    }
  }

  private static Run check(List<String> client, String target, String user, String envName, String envValue) throws Exception {
    List<String> command = new ArrayList<>(client);
    command.addAll(List.of("--target", target, "--user", user, "--action", "login"));
    return run(command, envName == null ? null : new String[] {envName, envValue});
  }

  private record Run(int exit, String out) {
  }

  private static Run run(List<String> command, String[] env) throws Exception {
    // Its output to a file, so that a client that never ends cannot hold the test past the wait below.
    Path output = Files.createTempFile("sluice-example", ".out");
    try {
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
      if (env != null) {
        builder.environment().put(env[0], env[1]);
      }
      Process process = builder.start();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError(command + " did not end:\n" + Files.readString(output));
      }
      return new Run(process.exitValue(), Files.readString(output));
    } finally {
      Files.deleteIfExists(output);
    }
  }
}
