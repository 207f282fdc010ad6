package io.sluice.ops;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.support.Await;
import io.sluice.support.InstanceProcess;
import io.sluice.support.Ports;
import io.sluice.support.RedisExtension;
import io.sluice.support.TestRedis;
import io.sluice.support.Traffic;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The first second of an instance, as users meet it: started as a process of its own by
 * scripts/sluice, cold, while another process keeps every core busy, and hit by hundreds of callers
 * the moment its port opens. It serves only once its Redis connections can carry checks, so its
 * first burst is decided by Redis, exactly; and an instance that cannot reach Redis says so and
 * exits, instead of serving its failure mode to a fleet that believes it healthy.
 */
@ExtendWith(RedisExtension.class)
class StartupIT {

  private static final int CAPACITY = 5;
  private static final double REFILL_PER_SECOND = 0.2;
  private static final String LIMITS = "{\"rules\": {\"default\": {\"capacity\": 100, \"refillPerSecond\": 10},"
      + " \"login\": {\"capacity\": " + CAPACITY + ", \"refillPerSecond\": " + REFILL_PER_SECOND + "}}}";
  private static final int CALLERS = 200;

  @Test
  void coldInstancesOnBusyCoresHitAtOnceDecideEveryCheckExactly(TestRedis redis) throws Exception {
    List<Process> busy = new ArrayList<>();
    for (int core = 0; core < Runtime.getRuntime().availableProcessors(); core++) {
      busy.add(new ProcessBuilder("timeout", "120", "sh", "-c", "while :; do :; done").start());
    }
    Vertx vertx = Vertx.vertx();
    try (InstanceProcess a = InstanceProcess.start(redis.uri(), LIMITS, Map.of());
         InstanceProcess b = InstanceProcess.start(redis.uri(), LIMITS, Map.of())) {
      // Not awaiting readiness: the callers are there the moment the ports open, as after a deploy.
      Await.until("both gRPC ports to open", Duration.ofSeconds(120), () -> accepts(a.port()) && accepts(b.port()));
      long startNanos = System.nanoTime();
      String user = "cold-" + System.nanoTime();
      List<Traffic.Answer> answers = Traffic.run(vertx,
          List.of(new SluiceClient(vertx, SocketAddress.inetSocketAddress(a.port(), "127.0.0.1")),
              new SluiceClient(vertx, SocketAddress.inetSocketAddress(b.port(), "127.0.0.1"))),
          Traffic.Plan.burst(CALLERS, 1).withTimeoutMs(10_000),
          caller -> CheckRequest.newBuilder().setUserId(user).setAction("login").build());
      double seconds = (System.nanoTime() - startNanos) / 1e9;

      long allowed = Traffic.count(answers, Traffic.Answer::allowed);
      long degraded = Traffic.count(answers, Traffic.Answer::degraded);
      long errors = Traffic.count(answers, answer -> answer.error() != null);
      String seen = "%d answers in %.2f s: %d allowed, %d degraded, %d errors".formatted(answers.size(), seconds, allowed, degraded, errors);
      System.out.println("cold start on busy cores: " + seen);
      assertEquals(CALLERS, answers.size(), seen);
      assertEquals(0, errors, "every check decided: " + seen);
      assertEquals(0, degraded, "decided by redis, none by a failure mode: " + seen);
      assertThat(allowed).as("exact: " + seen).isBetween((long) CAPACITY, CAPACITY + (long) Math.floor(REFILL_PER_SECOND * seconds));
    } finally {
      busy.forEach(Process::destroy);
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void anInstanceThatCannotReachRedisExitsNamingTheUriAndTheCause() throws Exception {
    String nowhere = "redis://127.0.0.1:" + Ports.free();
    try (InstanceProcess instance = InstanceProcess.start(nowhere, LIMITS, Map.of("SLUICE_REDIS_STARTUP_TIMEOUT_MS", "2000"))) {
      assertTrue(instance.process().waitFor(60, TimeUnit.SECONDS), "it gave up");
      String output = instance.log();
      assertEquals(1, instance.process().exitValue(), output);
      assertThat(output).contains("redis " + nowhere + " could not be reached within redisStartupTimeoutMs (2000 ms)")
          .contains("Connection refused");
      assertThat(accepts(instance.port())).as("it never listened").isFalse();
    }
  }

  @Test
  void anInstanceStoppedWhileItWaitsForRedisExitsAtOnceWithoutWaitingOutTheStartupTimeout() throws Exception {
    // Without a warm-up (the default), and with one, as deploy/k8s starts it: the warm-up waits for Redis too.
    for (String warmUpCalls : List.of("0", "1000")) {
      String nowhere = "redis://127.0.0.1:" + Ports.free();
      try (InstanceProcess instance = InstanceProcess.start(nowhere, LIMITS,
          Map.of("SLUICE_REDIS_STARTUP_TIMEOUT_MS", "120000", "SLUICE_WARM_UP_CALLS", warmUpCalls))) {
        // Its ops port answers during the start: from then on it waits for Redis.
        Await.until("the instance to wait for redis", Duration.ofSeconds(60),
            () -> io.sluice.support.Http.status(instance.http("/health/live")) == 200);
        instance.process().destroy();
        assertTrue(instance.process().waitFor(20, TimeUnit.SECONDS),
            "warmUpCalls " + warmUpCalls + ": it stopped long before redisStartupTimeoutMs (120 s): " + instance.log());
        String output = instance.log();
        assertEquals(0, instance.process().exitValue(), "a stop asked for is no failure: " + output);
        assertThat(output).contains("stopped before ready, while waiting for redis " + nowhere).contains("nothing to drain")
            .doesNotContain("cannot start");
        assertThat(accepts(instance.port())).as("it never listened").isFalse();
      }
    }
  }

  private static boolean accepts(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
