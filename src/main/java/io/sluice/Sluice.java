package io.sluice;

import io.sluice.limiter.QuotaClock;
import io.sluice.config.Settings;
import io.sluice.limiter.BanCache;
import io.sluice.limiter.ThrottleFactors;
import io.sluice.limits.LiveLimits;
import io.sluice.telemetry.Health;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.LongSupplier;

/** A running Sluice instance: its own Vert.x, its verticles, and a way to stop them gracefully. */
public final class Sluice implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(Sluice.class);
  private static final long DRAIN_POLL_MS = 10;

  private final Vertx vertx;
  private final Settings settings;
  private final MainVerticle main;
  private final Health health;
  private Future<Void> stopped;

  private Sluice(Vertx vertx, Settings settings, MainVerticle main, Health health) {
    this.vertx = vertx;
    this.settings = settings;
    this.main = main;
    this.health = health;
  }

  /** Starts an instance on a Vert.x of its own; on failure that Vert.x is closed again. */
  public static Future<Sluice> start(Settings settings) {
    return start(settings, System::nanoTime);
  }

  /**
   * The same, with the clock the decisions outside Redis read (the caches of bans and refusals, the
   * local buckets of the {@code local} failure mode): a test's, so that expiry and refill are seen
   * without waiting. Deadlines and timeouts keep the JVM's clock.
   */
  public static Future<Sluice> start(Settings settings, LongSupplier decisionClock) {
    return start(settings, decisionClock, QuotaClock.SYSTEM);
  }

  /** The same, its calendar quotas on {@code quotaClock}: a test's, offset so that a period ends without waiting. */
  public static Future<Sluice> start(Settings settings, LongSupplier decisionClock, QuotaClock quotaClock) {
    Metrics metrics = new Metrics();
    return start(settings, metrics, vertx(metrics), decisionClock, quotaClock);
  }

  /**
   * The Vert.x an instance runs on. Vert.x reports its own meters (server connections, pools, event
   * loops) into the same registry as ours; not per HTTP request: sluice_check_duration_seconds times
   * the calls that matter, and Vert.x's per-request meters cost a check about as much as the rest of
   * the metrics together. Nor its client connections and Redis client meters: each event loop has
   * its own Redis clients, and their untagged gauges collide (Micrometer keeps one loop's, and warns
   * at every start); sluice_redis_* and readiness say what Redis does.
   */
  public static Vertx vertx(Metrics metrics) {
    return Vertx.builder()
        .with(new VertxOptions().setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true)
            .addDisabledMetricsCategory(MetricsDomain.HTTP_SERVER)
            .addDisabledMetricsCategory(MetricsDomain.NET_CLIENT)
            .addDisabledMetricsCategory("redis")))
        .withMetrics(new MicrometerMetricsFactory(metrics.registry()))
        .build();
  }

  /** Starts an instance on {@code vertx}, made by {@link #vertx}; on failure it is closed. */
  public static Future<Sluice> start(Settings settings, Metrics metrics, Vertx vertx) {
    return start(settings, metrics, vertx, new Health(settings.failureMode()));
  }

  /** The same, with its health made by the caller: one that may ask a start still under way to stop ({@link Health#stopRequested}). */
  public static Future<Sluice> start(Settings settings, Metrics metrics, Vertx vertx, Health health) {
    return start(settings, metrics, vertx, health, System::nanoTime, QuotaClock.SYSTEM);
  }

  private static Future<Sluice> start(Settings settings, Metrics metrics, Vertx vertx, LongSupplier decisionClock, QuotaClock quotaClock) {
    return start(settings, metrics, vertx, new Health(settings.failureMode()), decisionClock, quotaClock);
  }

  private static Future<Sluice> start(Settings settings, Metrics metrics, Vertx vertx, Health health, LongSupplier decisionClock,
                                      QuotaClock quotaClock) {
    MainVerticle main = new MainVerticle(settings, metrics, health, decisionClock, quotaClock);
    // Not bound to a context: after a failed start the event loops are gone, and the caller must still hear why.
    Promise<Sluice> started = Promise.promise();
    vertx.deployVerticle(main).onComplete(deployed -> {
      if (deployed.succeeded()) {
        started.complete(new Sluice(vertx, settings, main, health));
      } else {
        vertx.close().onComplete(closed -> started.fail(deployed.cause()));
      }
    });
    return started.future();
  }

  public Settings settings() {
    return settings;
  }

  public LiveLimits limits() {
    return main.limits();
  }

  public BanCache banCache() {
    return main.banCache();
  }

  /** Whether published limits changes reach this instance right now. */
  public boolean limitsSubscribed() {
    return main.limitsSubscribed();
  }

  public ThrottleFactors throttle() {
    return main.throttle();
  }

  public Metrics metrics() {
    return main.metrics();
  }

  public Health health() {
    return health;
  }

  /** The live instances this one counts, for the local failure mode's share. */
  public int fleetSize() {
    return main.fleetSize();
  }

  public Vertx vertx() {
    return vertx;
  }

  /**
   * Stops gracefully: readiness turns false and new checks are refused at once, checks in flight
   * get their answers (for at most {@code drainTimeoutMs}), then the servers and Redis connections close.
   */
  public synchronized Future<Void> stop() {
    if (stopped == null) {
      health.startDraining();
      long deadline = System.nanoTime() + settings.ops().drainTimeoutMs() * 1_000_000L;
      log.info("draining: {} checks in flight, waiting up to {} ms", health.inFlight(), settings.ops().drainTimeoutMs());
      stopped = drained(deadline).compose(done -> vertx.close());
    }
    return stopped;
  }

  private Future<Void> drained(long deadlineNanos) {
    if (health.inFlight() == 0) {
      return Future.succeededFuture();
    }
    if (System.nanoTime() - deadlineNanos > 0) {
      log.warn("drain timeout: {} checks still in flight are cut off", health.inFlight());
      return Future.succeededFuture();
    }
    Promise<Void> later = Promise.promise();
    vertx.setTimer(DRAIN_POLL_MS, timer -> drained(deadlineNanos).onComplete(later));
    return later.future();
  }

  @Override
  public void close() throws Exception {
    stop().await();
  }
}
