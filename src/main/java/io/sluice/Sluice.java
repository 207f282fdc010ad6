package io.sluice;

import io.sluice.config.Settings;
import io.sluice.limits.LiveLimits;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

/** A running Sluice instance: its own Vert.x, its verticles, and a way to stop them. */
public final class Sluice implements AutoCloseable {

  private final Vertx vertx;
  private final Settings settings;
  private final MainVerticle main;

  private Sluice(Vertx vertx, Settings settings, MainVerticle main) {
    this.vertx = vertx;
    this.settings = settings;
    this.main = main;
  }

  /** Starts an instance; on failure the Vert.x it created is closed again. */
  public static Future<Sluice> start(Settings settings) {
    Vertx vertx = Vertx.vertx();
    MainVerticle main = new MainVerticle(settings);
    // Not bound to a context: after a failed start the event loops are gone, and the caller must still hear why.
    Promise<Sluice> started = Promise.promise();
    vertx.deployVerticle(main).onComplete(deployed -> {
      if (deployed.succeeded()) {
        started.complete(new Sluice(vertx, settings, main));
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

  public io.sluice.limiter.BanCache banCache() {
    return main.banCache();
  }

  /** Whether published limits changes reach this instance right now. */
  public boolean limitsSubscribed() {
    return main.limitsSubscribed();
  }

  public io.sluice.throttle.ThrottleFactors throttle() {
    return main.throttle();
  }

  public io.sluice.ops.Metrics metrics() {
    return main.metrics();
  }

  public Vertx vertx() {
    return vertx;
  }

  public Future<Void> stop() {
    return vertx.close();
  }

  @Override
  public void close() throws Exception {
    stop().await();
  }
}
