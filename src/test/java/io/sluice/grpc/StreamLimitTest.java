package io.sluice.grpc;

import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.HostileClients;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.telemetry.Health;
import io.sluice.telemetry.Metrics;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.health.v1.HealthCheckRequest;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A client's first flight of calls comes before it has read the server's settings, so before the
 * HTTP/2 stack holds it to {@code maxStreamsPerConnection}: the calls past the limit are refused
 * unread ({@code REFUSED_STREAM}: not processed, safe to send again), and only a peer that goes on
 * past the limit after a second without acknowledging the settings is closed.
 */
class StreamLimitTest {

  private static final String LIMITS = "{\"rules\": {\"default\": {\"capacity\": 1000, \"refillPerSecond\": 1000}}}";
  private static final int MAX_STREAMS = 4;
  private static final String REFUSED_STREAM = "reset 7";
  private static final byte[] REQUEST = CheckRequest.newBuilder().setUserId("first-flight").setAction("api").build().toByteArray();

  @Test
  void aFirstFlightPastTheLimitIsRefusedUnreadAndTheRestDecided() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("maxStreamsPerConnection", MAX_STREAMS));
         HostileClients.FirstFlight client = new HostileClients.FirstFlight("127.0.0.1", sluice.port())) {
      client.send(10, REQUEST);

      Map<String, Integer> outcomes = count(client.awaitEnded(10, Duration.ofSeconds(10)));

      assertEquals(Map.of("answered", MAX_STREAMS, REFUSED_STREAM, 10 - MAX_STREAMS), outcomes);
      assertThat(client.closedByServer()).as("a first flight is no reason to close").isFalse();
      assertEquals(10 - MAX_STREAMS, sluice.counter(Metrics.STREAMS_REFUSED));
      assertEquals(MAX_STREAMS, (int) sluice.sluice().metrics().registry().find(Metrics.DECISIONS).counters().stream()
          .mapToDouble(counter -> counter.count()).sum(), "only the calls within the limit were decided");
      // One reset each, and none more for their DATA frames: read past them, up to one more call's answer.
      client.send(1, REQUEST);
      assertEquals("answered", client.awaitEnded(11, Duration.ofSeconds(10)).get(21));
      assertEquals(10 - MAX_STREAMS, client.resets());
      assertEquals(Decision.ALLOW, sluice.check("another-client", "api").getDecision());
    }
  }

  @Test
  void whileTheInstanceIsContendedAConnectionPastItsFairShareIsHeldToItUntilTheContentionIsOver() throws Exception {
    int maxChecksInFlight = 8;
    long streamLimit = 16;
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("maxStreamsPerConnection", streamLimit)
             .put("maxChecksInFlight", maxChecksInFlight).put("redisTimeoutMs", 30_000).put("slowReaderTimeoutMs", 400));
         HostileClients.FirstFlight heavy = new HostileClients.FirstFlight("127.0.0.1", sluice.port());
         HostileClients.FirstFlight light = new HostileClients.FirstFlight("127.0.0.1", sluice.port())) {
      heavy.acknowledgeSettings();
      light.acknowledgeSettings();
      assertEquals(List.of(streamLimit), heavy.awaitStreamLimit(streamLimit, Duration.ofSeconds(10)));
      assertEquals(List.of(streamLimit), light.awaitStreamLimit(streamLimit, Duration.ofSeconds(10)));
      // Redis hangs, so the checks stay in flight: the sixth is past half of maxChecksInFlight, and
      // past the heavy connection's share of that half (4, the only connection holding streams).
      redis.pause();
      heavy.send(6, REQUEST);

      assertEquals(List.of((long) ConnectionGuards.LEAST_FAIR_SHARE),
          heavy.awaitStreamLimit(ConnectionGuards.LEAST_FAIR_SHARE, Duration.ofSeconds(10)));
      assertEquals(1, sluice.counter(Metrics.STREAM_LIMITS_LOWERED));
      // Sent before its peer acknowledged the share: taken (a refusal would count toward rstFloodMax).
      heavy.send(1, REQUEST);
      light.send(1, REQUEST);
      redis.resume();

      assertEquals(Map.of("answered", 7), count(heavy.awaitEnded(7, Duration.ofSeconds(10))));
      assertEquals(Map.of("answered", 1), count(light.awaitEnded(1, Duration.ofSeconds(10))));
      // The heavy peer acknowledges the share only after the limit was due back: the time itself is
      // what is tested (a second uncontended, and two sweeps of 100 ms). It comes back all the same.
      TimeUnit.MILLISECONDS.sleep(ConnectionGuards.UNCONTENDED_NANOS_BEFORE_RESTORE / 1_000_000 + 200);
      heavy.acknowledgeSettings();
      assertEquals(List.of(streamLimit), heavy.awaitStreamLimit(streamLimit, Duration.ofSeconds(10)));
      assertEquals(List.of(streamLimit), light.streamLimits(), "a connection within its share is left alone");
      // Past the share again, and acknowledged: the HTTP/2 stack would not take these were it still in force.
      heavy.acknowledgeSettings();
      heavy.send(5, REQUEST);
      assertEquals(Map.of("answered", 12), count(heavy.awaitEnded(12, Duration.ofSeconds(10))));
      assertEquals(0, sluice.counter(Metrics.STREAMS_REFUSED));
      assertEquals(1, sluice.counter(Metrics.STREAM_LIMITS_LOWERED), "no more than half was in flight: not lowered again");
      assertThat(heavy.closedByServer()).isFalse();
    }
  }

  @Test
  void firstFlightsReadInOneTurnShareItsBudgetAndTheRestIsRefusedUntilThePeerReadTheSettings() throws Exception {
    int generousLimit = 4 * ConnectionGuards.FIRST_FLIGHT_PER_TURN;
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("maxStreamsPerConnection", generousLimit));
         HostileClients.FirstFlight client = new HostileClients.FirstFlight("127.0.0.1", sluice.port())) {
      // One write, read in one turn of the event loop: more than a turn takes of first flights.
      int firstFlight = 2 * ConnectionGuards.FIRST_FLIGHT_PER_TURN;
      client.send(firstFlight, REQUEST);

      assertEquals(Map.of("answered", ConnectionGuards.FIRST_FLIGHT_PER_TURN, REFUSED_STREAM, firstFlight - ConnectionGuards.FIRST_FLIGHT_PER_TURN),
          count(client.awaitEnded(firstFlight, Duration.ofSeconds(10))));
      // Once it has read the settings, its calls are no longer a first flight: all are taken.
      client.sendThenAcknowledgeSettings(0, REQUEST);
      client.send(firstFlight, REQUEST);
      assertEquals(Map.of("answered", 2 * ConnectionGuards.FIRST_FLIGHT_PER_TURN + ConnectionGuards.FIRST_FLIGHT_PER_TURN,
              REFUSED_STREAM, firstFlight - ConnectionGuards.FIRST_FLIGHT_PER_TURN),
          count(client.awaitEnded(2 * firstFlight, Duration.ofSeconds(10))));
      assertThat(client.closedByServer()).isFalse();
    }
  }

  @Test
  void aPeerThatHasNotReadTheSettingsASecondAfterItsFirstStreamGetsNoMoreOfTheFirstFlightsShare() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("maxStreamsPerConnection", 4 * MAX_STREAMS));
         HostileClients.FirstFlight client = new HostileClients.FirstFlight("127.0.0.1", sluice.port())) {
      client.send(2, REQUEST);
      assertEquals(Map.of("answered", 2), count(client.awaitEnded(2, Duration.ofSeconds(10))));
      // A few streams a turn, never acknowledging the settings: a second on, it spends no budget.
      TimeUnit.MILLISECONDS.sleep(ConnectionGuards.SETTINGS_GRACE_NANOS / 1_000_000 + 100);
      client.send(2, REQUEST);
      assertEquals(Map.of("answered", 2, REFUSED_STREAM, 2), count(client.awaitEnded(4, Duration.ofSeconds(10))));
      assertEquals(Decision.ALLOW, sluice.check("another-client", "api").getDecision());
    }
  }

  @Test
  void aPeerThatGoesOnPastTheLimitAfterASecondIsClosed() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("maxStreamsPerConnection", MAX_STREAMS));
         HostileClients.FirstFlight client = new HostileClients.FirstFlight("127.0.0.1", sluice.port())) {
      client.send(MAX_STREAMS, REQUEST);
      assertEquals(Map.of("answered", MAX_STREAMS), count(client.awaitEnded(MAX_STREAMS, Duration.ofSeconds(10))));
      // The grace a peer has to read the settings, passed: the time itself is what is tested.
      TimeUnit.MILLISECONDS.sleep(ConnectionGuards.SETTINGS_GRACE_NANOS / 1_000_000 + 100);

      client.send(2 * MAX_STREAMS + 1, REQUEST);
      // One more than can end: read until the server closes the connection (all are refused, at once).
      client.awaitEnded(3 * MAX_STREAMS + 2, Duration.ofSeconds(10));

      assertThat(client.closedByServer()).as("closed once %d streams went past the limit after the grace", MAX_STREAMS + 1).isTrue();
      assertEquals(1, sluice.sluice().metrics().registry().find(Metrics.CONNECTIONS_CLOSED).tag("reason", "streams").counter().count());
      assertEquals(Decision.ALLOW, sluice.check("another-client", "api").getDecision());
    }
  }

  @Test
  void streamsThatStayOpenCountTowardTheLimit() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("maxStreamsPerConnection", MAX_STREAMS));
         HostileClients.FirstFlight client = new HostileClients.FirstFlight("127.0.0.1", sluice.port())) {
      // Health/Watch streams stay open, answered with a status now and then: no unary call among them.
      client.send("/grpc.health.v1.Health/Watch", MAX_STREAMS + 3, HealthCheckRequest.getDefaultInstance().toByteArray());
      client.send(1, REQUEST);

      assertEquals(Map.of(REFUSED_STREAM, 4), count(client.awaitEnded(4, Duration.ofSeconds(10))),
          "the watches past the limit, and then a check, were refused");
      assertEquals(4, sluice.counter(Metrics.STREAMS_REFUSED));
    }
  }

  @Test
  void aFirstFlightReadLateTogetherWithTheSettingsAcknowledgementIsNoReasonToClose() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("maxStreamsPerConnection", MAX_STREAMS));
         HostileClients.FirstFlight client = new HostileClients.FirstFlight("127.0.0.1", sluice.port())) {
      // As a stalled event loop sees it: the grace passed before the first flight was read, and the
      // peer's acknowledgement comes right behind it.
      TimeUnit.MILLISECONDS.sleep(ConnectionGuards.SETTINGS_GRACE_NANOS / 1_000_000 + 100);
      client.sendThenAcknowledgeSettings(3 * MAX_STREAMS, REQUEST);

      assertEquals(Map.of("answered", MAX_STREAMS, REFUSED_STREAM, 2 * MAX_STREAMS),
          count(client.awaitEnded(3 * MAX_STREAMS, Duration.ofSeconds(10))));
      client.send(MAX_STREAMS, REQUEST);
      assertEquals(Map.of("answered", 2 * MAX_STREAMS, REFUSED_STREAM, 2 * MAX_STREAMS),
          count(client.awaitEnded(4 * MAX_STREAMS, Duration.ofSeconds(10))));
      assertThat(client.closedByServer()).isFalse();
      assertEquals(0, sluice.sluice().metrics().registry().find(Metrics.CONNECTIONS_CLOSED).counters().stream()
          .mapToDouble(counter -> counter.count()).sum());
    }
  }

  @Test
  void httpOneCallsOnAKeptAliveConnectionAreNeverRefused() throws Exception {
    try (TestRedis redis = TestRedis.startOwn();
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("maxStreamsPerConnection", MAX_STREAMS))) {
      // gRPC-Web over HTTP/1.1: one call after another on one kept-alive connection, more than the limit.
      java.net.http.HttpClient http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
      java.net.http.HttpRequest call = java.net.http.HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + sluice.port() + "/sluice.v1.RateLimiter/Check"))
          .header("content-type", "application/grpc-web+proto")
          .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(HostileClients.grpcFrame(REQUEST)))
          .build();
      for (int i = 0; i < 4 * MAX_STREAMS; i++) {
        assertEquals(200, http.send(call, java.net.http.HttpResponse.BodyHandlers.ofByteArray()).statusCode(), "call " + i);
      }
      assertEquals(0, sluice.counter(Metrics.STREAMS_REFUSED));
    }
  }

  private static Map<String, Integer> count(Map<Integer, String> ended) {
    Map<String, Integer> counts = new TreeMap<>();
    ended.values().forEach(outcome -> counts.merge(outcome, 1, Integer::sum));
    return counts;
  }
}
