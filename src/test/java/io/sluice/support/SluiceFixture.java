package io.sluice.support;

import io.sluice.Sluice;
import io.sluice.config.Settings;
import io.sluice.grpc.ClientAccess;
import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckResponse;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real Sluice instance for a test: its own Vert.x, a real gRPC port, a real Redis, and a limits
 * file of the test's own. Close it to stop it.
 */
public final class SluiceFixture implements AutoCloseable {

  private final Sluice sluice;
  private final Path limitsFile;
  private final Vertx clientVertx = Vertx.vertx();
  private final SluiceClient client;
  /** A Redis this fixture started and stopped for itself ({@link #cutOff}); closed with it. */
  private TestRedis ownRedis;

  /** The admin token test instances have unless a test says otherwise, and their client shows. */
  public static final String ADMIN_TOKEN = "test-admin-token-of-32-characters";

  private SluiceFixture(Sluice sluice, Path limitsFile) {
    this.sluice = sluice;
    this.limitsFile = limitsFile;
    this.client = new SluiceClient(clientVertx, SocketAddress.inetSocketAddress(sluice.settings().port(), "127.0.0.1"),
        ClientAccess.PLAIN.withToken(sluice.settings().security().adminToken()));
  }

  /**
   * An instance whose Redis is gone: it starts on a Redis of its own (an instance never serves
   * before its Redis connections are open), which is then killed, so every check meets an
   * unavailable Redis and its failure mode.
   */
  public static SluiceFixture cutOff(String limitsJson, JsonObject settings) throws Exception {
    return cutOff(limitsJson, settings, System::nanoTime);
  }

  /** The same, its caches and local buckets on {@code decisionClock} (a {@link TestClock}). */
  public static SluiceFixture cutOff(String limitsJson, JsonObject settings, java.util.function.LongSupplier decisionClock) throws Exception {
    TestRedis redis = TestRedis.startOwn();
    try {
      SluiceFixture fixture = start(redis.uri(), limitsJson, settings, decisionClock);
      fixture.ownRedis = redis;
      redis.kill(redis.port());
      return fixture;
    } catch (RuntimeException e) {
      redis.close();
      throw e;
    }
  }

  /** Starts an instance on a free port with {@code limitsJson} in a limits file of its own. */
  public static SluiceFixture start(String redisUri, String limitsJson) {
    return start(redisUri, limitsJson, new JsonObject());
  }

  /** As {@link #start(String, String)}, with further settings that override the test defaults. */
  public static SluiceFixture start(String redisUri, String limitsJson, JsonObject settings) {
    try {
      Path limitsFile = Files.createTempFile("sluice-limits", ".json");
      Files.writeString(limitsFile, limitsJson);
      return start(redisUri, limitsFile, settings);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** As {@link #start(String, String, JsonObject)}, its caches and local buckets on {@code decisionClock} (a {@link TestClock}). */
  public static SluiceFixture start(String redisUri, String limitsJson, JsonObject settings, java.util.function.LongSupplier decisionClock) {
    try {
      Path limitsFile = Files.createTempFile("sluice-limits", ".json");
      Files.writeString(limitsFile, limitsJson);
      return start(redisUri, limitsFile, settings, decisionClock);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static SluiceFixture start(String redisUri, Path limitsFile, JsonObject settings) {
    return start(redisUri, limitsFile, settings, System::nanoTime);
  }

  /** As {@link #start(String, String)}, its calendar quotas on {@code quotaClock} (offset to reach a period's end without waiting). */
  public static SluiceFixture start(String redisUri, String limitsJson, io.sluice.limiter.QuotaClock quotaClock) {
    try {
      Path limitsFile = Files.createTempFile("sluice-limits", ".json");
      Files.writeString(limitsFile, limitsJson);
      return start(redisUri, limitsFile, new JsonObject(), System::nanoTime, quotaClock);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static SluiceFixture start(String redisUri, Path limitsFile, JsonObject settings, java.util.function.LongSupplier decisionClock) {
    return start(redisUri, limitsFile, settings, decisionClock, io.sluice.limiter.QuotaClock.SYSTEM);
  }

  private static SluiceFixture start(String redisUri, Path limitsFile, JsonObject settings, java.util.function.LongSupplier decisionClock,
                                     io.sluice.limiter.QuotaClock quotaClock) {
    JsonObject json = new JsonObject()
        .put("host", "127.0.0.1")
        .put("port", Ports.free())
        .put("httpPort", Ports.free())
        .put("redis", redisUri)
        .put("limits", limitsFile.toString())
        .put("grpcInstances", 2)
        // Generous, so that a slow CI machine never turns a check into a degraded answer.
        .put("redisTimeoutMs", 5000)
        // Heartbeats are script calls too: rare, so that INFO commandstats counts what a test drives.
        .put("heartbeatMs", 60_000)
        .put("adminToken", ADMIN_TOKEN)
        // A Cluster or Sentinel Redis of the tests brings its mode along with its URI.
        .mergeIn(TestRedis.settingsFor(redisUri))
        .mergeIn(settings);
    try {
      return new SluiceFixture(Sluice.start(Settings.fromJson(json), decisionClock, quotaClock).await(30, TimeUnit.SECONDS), limitsFile);
    } catch (Exception e) {
      throw new IllegalStateException("sluice did not start", e);
    }
  }

  /** Waits until the instance listens to unban notices, so that its ban cache serves. */
  public SluiceFixture awaitSubscribed() {
    Await.until("the ban cache to go live", java.time.Duration.ofSeconds(10), () -> sluice.banCache().unbansArrive());
    return this;
  }

  public <T> T await(io.vertx.core.Future<T> future) {
    try {
      return future.await(10, TimeUnit.SECONDS);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  public Sluice sluice() {
    return sluice;
  }

  public int port() {
    return sluice.settings().port();
  }

  public int httpPort() {
    return sluice.settings().ops().httpPort();
  }

  public Path limitsFile() {
    return limitsFile;
  }

  public SluiceClient client() {
    return client;
  }

  /** The value of one of the instance's untagged counters ({@code io.sluice.telemetry.Metrics} names them). */
  public double counter(String name) {
    return sluice.metrics().registry().find(name).counter().count();
  }

  /** The value of one of the instance's tagged counters, 0 when it has not counted yet. */
  public double counter(String name, String... tags) {
    io.micrometer.core.instrument.Counter counter = sluice.metrics().registry().find(name).tags(tags).counter();
    return counter == null ? 0 : counter.count();
  }

  /** One check, waited for; fails the test with the server's status when the call fails. */
  public CheckResponse check(String userId, String action) {
    return check(userId, action, 1);
  }

  public CheckResponse check(String userId, String action, int cost) {
    try {
      return client.check(userId, action, cost).await(10, TimeUnit.SECONDS);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws Exception {
    client.close().await(10, TimeUnit.SECONDS);
    clientVertx.close().await(10, TimeUnit.SECONDS);
    sluice.close();
    Files.deleteIfExists(limitsFile);
    if (ownRedis != null) {
      ownRedis.close();
    }
  }
}
