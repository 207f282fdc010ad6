package io.sluice.grpc;

import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.Await;
import io.sluice.support.HostileClients;
import io.sluice.support.Http;
import io.sluice.support.InstanceProcess;
import io.sluice.support.RedisExtension;
import io.sluice.support.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Clients that do not cooperate, against an instance started as users start it (scripts/sluice:
 * its 160 MB heap), with Redis healthy throughout: none of them can fill its heap, stop it
 * answering others, or make it log without bound, and it is as before once they leave.
 */
@ExtendWith(RedisExtension.class)
class HostileClientsIT {

  private static final String LIMITS = "{\"rules\": {\"default\": {\"capacity\": 1000000, \"refillPerSecond\": 1000000}}}";
  private static final int CONNECTIONS = 300;
  private static final int STREAMS = 100;
  /** The heap an instance runs with (scripts/sluice -Xmx160m): what it must stay within. */
  private static final long HEAP_BYTES = 160L << 20;

  @Test
  void aClientThatNeverReadsItsAnswersCannotExhaustTheInstance(TestRedis redis) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (InstanceProcess instance = InstanceProcess.start(redis.uri(), LIMITS, Map.of("SLUICE_LOG_FORMAT", "json")).awaitReady(Duration.ofSeconds(60))) {
      SluiceClient good = new SluiceClient(vertx, SocketAddress.inetSocketAddress(instance.port(), "127.0.0.1"));
      assertEquals(Decision.ALLOW, good.check("good", "api", 1).await(10, TimeUnit.SECONDS).getDecision());
      long linesBefore = instance.logLines();
      byte[] request = CheckRequest.newBuilder().setUserId("reads-nothing").setAction("api").build().toByteArray();
      long peakHeap = 0;
      try (HostileClients attacker = HostileClients.neverReading("127.0.0.1", instance.port(), CONNECTIONS, STREAMS, request)) {
        long attackStarted = System.nanoTime();
        long until = attackStarted + TimeUnit.SECONDS.toNanos(10);
        int probes = 0;
        int decided = 0;
        int shed = 0;
        while (System.nanoTime() < until) {
          assertEquals(200, Http.status(instance.http("/health/live")), "/health/live answers throughout");
          long sent = System.nanoTime();
          try {
            CheckResponse answer = good.check(CheckRequest.newBuilder().setUserId("good-" + probes++).setAction("api").build(), 2000)
                .await(3, TimeUnit.SECONDS);
            assertEquals(Decision.ALLOW, answer.getDecision());
            decided++;
          } catch (SluiceClient.CallFailedException e) {
            assertEquals(io.vertx.grpc.common.GrpcStatus.RESOURCE_EXHAUSTED, e.status(), "shed, if not decided: " + e.getMessage());
            shed++;
          }
          assertThat((System.nanoTime() - sent) / 1_000_000)
              .as("answered within the caller's deadline, %d ms into the attack", (sent - attackStarted) / 1_000_000).isLessThan(2000);
          peakHeap = Math.max(peakHeap, (long) instance.metric("jvm_memory_used_bytes", "area=\"heap\""));
          TimeUnit.MILLISECONDS.sleep(100);
        }
        System.out.printf("never-reading: peak heap %d MB, closed by server %d of %d, RSS %d MB, good checks decided %d, shed %d%n",
            peakHeap >> 20, attacker.closedByServer(), CONNECTIONS, instance.residentBytes() >> 20, decided, shed);
        System.out.println(instance.metrics().lines().filter(l -> l.startsWith("sluice_connections") || l.startsWith("sluice_answers")
            || l.startsWith("sluice_checks_shed") || l.startsWith("sluice_calls_abandoned")).toList());
      }
      Await.until("the instance to be as before, 5 s after the attacker left", Duration.ofSeconds(5), () -> {
        try {
          return Http.status(instance.http("/health/ready")) == 200
              && good.check("after", "api", 1).await(2, TimeUnit.SECONDS).getDecision() == Decision.ALLOW;
        } catch (Exception e) {
          return false;
        }
      });
      long hostileRequests = (long) CONNECTIONS * STREAMS;
      long lines = instance.logLines() - linesBefore;
      System.out.printf("never-reading: %d log lines for %d hostile calls%n", lines, hostileRequests);
      assertThat(peakHeap).as("heap in use stays below the heap").isLessThan(HEAP_BYTES * 9 / 10);
      // One JSON object per line: a line is an event, stack traces included.
      assertThat(lines).as("log lines for %d hostile calls:%n%s", hostileRequests, instance.log()).isLessThan(60);
      assertThat(instance.log()).doesNotContain("OutOfMemoryError");
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void streamsResetAsFastAsTheyOpenCloseTheConnectionAndOthersAreServed(TestRedis redis) throws Exception {
    Vertx vertx = Vertx.vertx();
    try (InstanceProcess instance = InstanceProcess.start(redis.uri(), LIMITS, Map.of("SLUICE_LOG_FORMAT", "json"))
        .awaitReady(Duration.ofSeconds(60))) {
      SluiceClient good = new SluiceClient(vertx, SocketAddress.inetSocketAddress(instance.port(), "127.0.0.1"));
      assertEquals(Decision.ALLOW, good.check("good", "api", 1).await(10, TimeUnit.SECONDS).getDecision());
      // Past rstFloodMax (200) resets in its window, each connection is told to go away and closed.
      try (HostileClients attacker = HostileClients.rapidReset("127.0.0.1", instance.port(), 20, 1000)) {
        Await.until("every resetting connection closed by the instance", Duration.ofSeconds(20),
            () -> attacker.closedByServer() == 20);
        assertEquals(Decision.ALLOW, good.check("good-meanwhile", "api", 1).await(10, TimeUnit.SECONDS).getDecision());
      }
      assertThat(instance.logLines()).as("log lines for 20,000 resets").isLessThan(60);
      assertThat(instance.log()).doesNotContain("OutOfMemoryError");
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
