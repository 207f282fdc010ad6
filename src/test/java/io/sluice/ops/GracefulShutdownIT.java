package io.sluice.ops;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.SluiceClient.CallFailedException;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.Await;
import io.sluice.support.Http;
import io.sluice.support.Ports;
import io.sluice.support.RedisExtension;
import io.sluice.support.TestRedis;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGTERM on the real jar while checks are in flight: readiness turns false, new checks are
 * refused, every in-flight check gets its answer, and the process exits 0 within the drain timeout.
 * Redis is held busy by a script, so that the checks are truly in flight when the signal lands.
 * The instance logs in JSON here, which the test also checks line by line.
 */
@ExtendWith(RedisExtension.class)
class GracefulShutdownIT {

  private static final int IN_FLIGHT = 50;
  private static final long DRAIN_TIMEOUT_MS = 15_000;
  /** Keeps Redis busy (and every check waiting on it) for ARGV[1] ms. */
  private static final String BUSY_SCRIPT = """
      local start = redis.call('TIME')
      local deadline = tonumber(start[1]) * 1000000 + tonumber(start[2]) + tonumber(ARGV[1]) * 1000
      while true do
        local now = redis.call('TIME')
        if tonumber(now[1]) * 1000000 + tonumber(now[2]) >= deadline then return 1 end
      end
      """;

  @Test
  void sigtermLetsInFlightChecksFinishThenExitsZero(TestRedis redis) throws Exception {
    Path limits = Files.createTempFile("sluice-limits", ".json");
    Files.writeString(limits, "{\"rules\":{\"default\":{\"capacity\":1000,\"refillPerSecond\":1}}}");
    int port = Ports.free();
    int httpPort = Ports.free();
    Path log = Files.createTempFile("sluice-it", ".log");
    ProcessBuilder builder = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar", "target/sluice.jar")
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    builder.environment().put("SLUICE_HOST", "127.0.0.1");
    builder.environment().put("SLUICE_PORT", String.valueOf(port));
    builder.environment().put("SLUICE_HTTP_PORT", String.valueOf(httpPort));
    builder.environment().put("SLUICE_REDIS", redis.uri());
    builder.environment().put("SLUICE_LIMITS", limits.toString());
    builder.environment().put("SLUICE_REDIS_TIMEOUT_MS", "20000");
    builder.environment().put("SLUICE_DRAIN_TIMEOUT_MS", String.valueOf(DRAIN_TIMEOUT_MS));
    builder.environment().put("SLUICE_LOG_FORMAT", "json");
    // The checks in flight and the late one share the test client's one connection.
    builder.environment().put("SLUICE_MAX_STREAMS_PER_CONNECTION", String.valueOf(2 * IN_FLIGHT));
    Process process = builder.start();
    Vertx vertx = Vertx.vertx();
    Redis blocker = Redis.createClient(vertx, redis.uri());
    Redis pinger = Redis.createClient(vertx, redis.uri());
    SluiceClient client = new SluiceClient(vertx, SocketAddress.inetSocketAddress(port, "127.0.0.1"));
    try {
      URI ready = URI.create("http://127.0.0.1:" + httpPort + "/health/ready");
      Await.until("the instance to be ready", Duration.ofSeconds(30), () -> Http.status(ready) == 200);

      blocker.send(Request.cmd(Command.EVAL).arg(BUSY_SCRIPT).arg(0).arg(4000));
      Await.until("redis to be busy", Duration.ofSeconds(10), () -> pingTimesOut(pinger));
      List<Future<CheckResponse>> inFlight = new ArrayList<>();
      for (int i = 0; i < IN_FLIGHT; i++) {
        inFlight.add(client.check("user-" + i, "login", 1));
      }
      URI metrics = URI.create("http://127.0.0.1:" + httpPort + "/metrics");
      Await.until(IN_FLIGHT + " checks in flight", Duration.ofSeconds(10),
          () -> Http.metric(Http.body(metrics), "sluice_checks_in_flight") == IN_FLIGHT);

      process.destroy();

      Await.until("readiness to turn false", Duration.ofSeconds(5), () -> Http.status(ready) == 503);
      CallFailedException refused = assertThrows(CallFailedException.class,
          () -> client.check("late", "login", 1).await(5, TimeUnit.SECONDS));
      assertEquals(GrpcStatus.UNAVAILABLE, refused.status());
      for (Future<CheckResponse> check : inFlight) {
        CheckResponse response = check.await(20, TimeUnit.SECONDS);
        assertEquals(Decision.ALLOW, response.getDecision());
        assertFalse(response.getDegraded(), "answered by Redis, not by the failure mode");
      }
      assertTrue(process.waitFor(DRAIN_TIMEOUT_MS + 10_000, TimeUnit.MILLISECONDS), "exited within the drain timeout");
      assertEquals(0, process.exitValue(), Files.readString(log));
      List<String> lines = Files.readAllLines(log).stream().filter(line -> !line.isBlank()).toList();
      for (String line : lines) {
        assertTrue(line.startsWith("{") && line.endsWith("}"), "one JSON object per line: " + line);
      }
      assertTrue(lines.stream().map(JsonObject::new).anyMatch(line -> line.getString("message", "").startsWith("draining")),
          "the drain is logged");
    } finally {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      vertx.close().await(10, TimeUnit.SECONDS);
      Files.deleteIfExists(limits);
      Files.deleteIfExists(log);
    }
  }

  /** An orchestrator may give up on an instance while it starts: that SIGTERM drains it too, once started. */
  @Test
  void sigtermWhileStartingStopsTheInstanceOnceStartedAndExitsZero(TestRedis redis) throws Exception {
    Path limits = Files.createTempFile("sluice-limits", ".json");
    Files.writeString(limits, "{\"rules\":{\"default\":{\"capacity\":1000,\"refillPerSecond\":1}}}");
    Path log = Files.createTempFile("sluice-it", ".log");
    ProcessBuilder builder = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar", "target/sluice.jar")
        .redirectErrorStream(true)
        .redirectOutput(log.toFile());
    builder.environment().put("SLUICE_HOST", "127.0.0.1");
    builder.environment().put("SLUICE_PORT", String.valueOf(Ports.free()));
    builder.environment().put("SLUICE_HTTP_PORT", String.valueOf(Ports.free()));
    builder.environment().put("SLUICE_REDIS", redis.uri());
    builder.environment().put("SLUICE_LIMITS", limits.toString());
    Process process = builder.start();
    try {
      // Subscriptions come up early in the start, before the ports open.
      Await.until("the start under way", Duration.ofSeconds(30), () -> read(log).contains("subscribed to"));
      process.destroy();
      assertTrue(process.waitFor(30, TimeUnit.SECONDS), "exited");
      String output = Files.readString(log);
      assertEquals(0, process.exitValue(), output);
      assertTrue(output.contains("SIGTERM received: stopping") && output.contains("io.sluice.Main - stopped"), output);
    } finally {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      Files.deleteIfExists(limits);
      Files.deleteIfExists(log);
    }
  }

  private static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static boolean pingTimesOut(Redis pinger) {
    try {
      pinger.send(Request.cmd(Command.PING)).await(200, TimeUnit.MILLISECONDS);
      return false;
    } catch (Exception e) {
      return true;
    }
  }
}
