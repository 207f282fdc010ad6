package io.sluice.limiter;

import io.sluice.grpc.v1.CheckRequest;
import io.sluice.support.Await;
import io.sluice.support.HostileClients;
import io.sluice.support.InstanceProcess;
import io.sluice.support.Processes;
import io.sluice.support.RedisExtension;
import io.sluice.support.TestRedis;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The overload as an attacker runs it, with Redis healthy throughout: h2load with 500 connections
 * of 100 streams each, for 10 s, on one user of a rule, against an instance started as users start
 * it (scripts/sluice). The instance may shed what it cannot take in time, but it never admits more
 * than the rule allows, never answers by its failure mode (Redis is fine), and a well-behaved backend
 * beside the attacker (another process) hears back, nearly always within its deadline, once the flood has met the
 * instance's defences and the cold instance has compiled its hot path ({@link #SETTLING_MS}), a
 * decision or a shed, never a made-up answer.
 */
@ExtendWith(RedisExtension.class)
class OverloadIT {

  private static final int CAPACITY = 200;
  private static final double REFILL_PER_SECOND = 50;
  private static final String LIMITS = "{\"rules\": {\"default\": {\"capacity\": 100, \"refillPerSecond\": 10},"
      + " \"api\": {\"capacity\": " + CAPACITY + ", \"refillPerSecond\": " + REFILL_PER_SECOND + "},"
      + " \"polite\": {\"capacity\": 1000, \"refillPerSecond\": 1000}}}";
  private static final long CALLER_DEADLINE_MS = 1000;
  private static final int ATTACK_SECONDS = 15;
  /** 20 a second, from half a second before the flood to past its end. */
  private static final int POLITE_CHECKS = 20 * (ATTACK_SECONDS + 3);
  /**
   * How long the flood's first flight (500 x 100 calls before h2load has read the server's settings,
   * all but the turn's share refused unread), the flood's connections being held to their shares
   * and a cold JVM slow the instance: answers up to 2.5 s late were measured, all sent within the
   * first 3.2 s, none after (docs/benchmarks.md has the figures).
   */
  private static final long SETTLING_MS = 5000;

  @Test
  void anOverloadedInstanceShedsButNeverAdmitsMoreThanTheLimitNorAnswersByItsFailureMode(TestRedis redis) throws Exception {
    Assumptions.assumeTrue(Processes.onPath("h2load"), "h2load (Debian's nghttp2-client) is not installed: the overload is not run");
    Path frame = Files.createTempFile("sluice-check", ".bin");
    Path politeFrame = Files.createTempFile("sluice-polite", ".bin");
    Path politeLog = Files.createTempFile("sluice-polite", ".log");
    // Warmed up before it is ready, as deploy/k8s and docker-compose.yml start it (warmUpCalls).
    try (InstanceProcess instance = InstanceProcess.start(redis.uri(), LIMITS, Map.of("SLUICE_LOG_FORMAT", "json", "SLUICE_WARM_UP_CALLS", "10000"))
        .awaitReady(Duration.ofSeconds(60))) {
      Files.write(frame, HostileClients.grpcFrame(
          CheckRequest.newBuilder().setUserId("overload-" + System.nanoTime()).setAction("api").build().toByteArray()));
      Files.write(politeFrame, HostileClients.grpcFrame(
          CheckRequest.newBuilder().setUserId("polite").setAction("polite").build().toByteArray()));
      long startNanos = System.nanoTime();
      // The well-behaved backend: another process, as it would be, one connection opened before the flood,
      // 20 checks a second, each with a 1 s deadline (grpc-timeout), every answer's time in its log.
      CompletableFuture<Processes.Result> polite = h2load(instance, "-n", String.valueOf(POLITE_CHECKS), "-c", "1", "-m", "1",
          "--rps", "20", "--log-file=" + politeLog, "-H", "grpc-timeout: " + CALLER_DEADLINE_MS + "m", "-d", politeFrame.toString());
      TimeUnit.MILLISECONDS.sleep(500);
      CompletableFuture<Processes.Result> attack = h2load(instance, "-c", "500", "-m", "100", "-D", String.valueOf(ATTACK_SECONDS),
          "-d", frame.toString());
      Processes.Result h2load = attack.get();
      Processes.Result politeRun = polite.get();
      List<String> wellBehavedSaw = new ArrayList<>();
      List<String> onceSettled = new ArrayList<>();
      long politeStartMicros = -1;
      for (String line : Files.readAllLines(politeLog)) {
        String[] columns = line.split("\t");
        long startMicros = Long.parseLong(columns[0]);
        politeStartMicros = politeStartMicros < 0 ? startMicros : politeStartMicros;
        long tookMs = Long.parseLong(columns[2]) / 1000;
        long sentAtMs = (startMicros - politeStartMicros) / 1000;
        String heard = columns[1] + (tookMs < CALLER_DEADLINE_MS ? "" : " after " + tookMs + " ms, sent at " + sentAtMs + " ms");
        wellBehavedSaw.add(heard);
        if (sentAtMs > SETTLING_MS) {
          onceSettled.add(heard);
        }
      }
      Await.until("every check the attacker sent to be decided", Duration.ofSeconds(30),
          () -> instance.metric("sluice_checks_in_flight") == 0);
      double elapsedSeconds = (System.nanoTime() - startNanos) / 1e9;

      String metrics = instance.metrics();
      double allowed = io.sluice.support.Http.metric(metrics, "sluice_decisions_total", "rule=\"api\"", "outcome=\"allow\"")
          + io.sluice.support.Http.metric(metrics, "sluice_decisions_total", "rule=\"api\"", "outcome=\"degraded_allow\"");
      double degraded = io.sluice.support.Http.metric(metrics, "sluice_degraded_decisions_total");
      double shed = io.sluice.support.Http.metric(metrics, "sluice_checks_shed_total");
      double decided = io.sluice.support.Http.metric(metrics, "sluice_decisions_total", "rule=\"api\"");
      double heldToShare = io.sluice.support.Http.metric(metrics, "sluice_stream_limits_lowered_total");
      String seen = ("h2load: %s; api allowed %.0f of %.0f decided, %.0f shed, %.0f degraded in %.1f s, %.0f stream limits lowered to a share; "
          + "the well-behaved caller saw %s, once settled %s").formatted(
              h2load.output().lines().filter(line -> line.startsWith("requests:")).findFirst().orElse(h2load.output()),
              allowed, decided, shed, degraded, elapsedSeconds, heldToShare, summary(wellBehavedSaw), summary(onceSettled));
      System.out.println("overload: " + seen);

      assertThat(decided).as("the attack reached the rule: " + seen).isGreaterThan(10_000);
      assertThat(allowed).as("allowed, degraded included, within capacity + refill x elapsed + 1: " + seen)
          .isLessThanOrEqualTo(CAPACITY + REFILL_PER_SECOND * elapsedSeconds + 1);
      assertThat(degraded).as("redis was healthy: no failure-mode answer: " + seen).isZero();
      assertThat(heldToShare).as("the flood's connections were held to their shares: " + seen).isGreaterThan(0);
      assertThat(instance.metric("sluice_redis_breaker_state")).as("the breaker stayed closed: " + seen).isZero();
      assertThat(politeRun.output()).as(seen).contains(POLITE_CHECKS + " done");
      assertThat(onceSettled).as(seen).hasSizeGreaterThan(POLITE_CHECKS / 3);
      // Measured: every answer within the deadline once settled (docs/benchmarks.md). One in a hundred
      // is left to a CI machine's other tenants.
      assertThat(onceSettled.stream().filter("200"::equals).count())
          .as("once settled, the well-behaved backend heard back within its deadline: " + seen)
          .isGreaterThanOrEqualTo(onceSettled.size() * 99L / 100);
      long errors = instance.log().lines().filter(line -> line.contains("\"level\":\"ERROR\"")).count();
      assertThat(instance.logLines()).as("log lines (one JSON event each), %d errors: %s", errors, seen).isLessThan(100);
    } finally {
      Files.deleteIfExists(frame);
      Files.deleteIfExists(politeFrame);
      Files.deleteIfExists(politeLog);
    }
  }

  private static CompletableFuture<Processes.Result> h2load(InstanceProcess instance, String... options) {
    List<String> command = new ArrayList<>(List.of("h2load"));
    command.addAll(List.of(options));
    command.addAll(List.of("-H", "content-type: application/grpc", "-H", "te: trailers",
        "http://127.0.0.1:" + instance.port() + "/sluice.v1.RateLimiter/Check"));
    return CompletableFuture.supplyAsync(() -> {
      try {
        return Processes.run(Map.of(), 90, command.toArray(String[]::new));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private static String summary(List<String> outcomes) {
    Map<String, Long> counts = new java.util.TreeMap<>();
    outcomes.forEach(outcome -> counts.merge(outcome, 1L, Long::sum));
    return counts.toString();
  }
}
