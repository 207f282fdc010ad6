package io.sluice;

import io.sluice.config.Settings;
import io.sluice.grpc.GrpcVerticle;
import io.sluice.limiter.BanAdmin;
import io.sluice.limiter.BanCache;
import io.sluice.limiter.RedisKeys;
import io.sluice.limits.LimitsParser;
import io.sluice.limits.LimitsVerticle;
import io.sluice.limits.LiveLimits;
import io.sluice.ops.Health;
import io.sluice.ops.Metrics;
import io.sluice.ops.OpsVerticle;
import io.sluice.throttle.LatencyMonitorVerticle;
import io.sluice.throttle.ThrottleFactors;
import io.sluice.redis.LuaScript;
import io.sluice.redis.RedisClients;
import io.sluice.redis.Subscriber;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.VertxOptions;
import io.vertx.redis.client.Redis;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The only wiring: loads the limits, subscribes to unban notices, then deploys the limits,
 * latency-monitor, ops (HTTP; it loads the Lua scripts into Redis) and gRPC verticles, in that order.
 * A failure at any step fails the deployment, so a bad limits file stops the process.
 */
public final class MainVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(MainVerticle.class);

  /** How often ended bans are dropped from the local cache. */
  private static final long BAN_CACHE_SWEEP_MS = 30_000;

  private final Settings settings;
  private final LuaScript checkScript = LuaScript.load("token_bucket");
  private final LuaScript banScript = LuaScript.load("ban");
  private final BanCache banCache = new BanCache();
  private final Metrics metrics;
  private final Health health;
  private final ThrottleFactors throttle = new ThrottleFactors();
  private LiveLimits limits;
  private String initialFileContent;
  private LimitsVerticle limitsVerticle;
  private Subscriber subscriber;
  /** For this verticle's own small writes (unban confirmations). */
  private Redis redis;

  public MainVerticle(Settings settings, Metrics metrics, Health health) {
    this.settings = settings;
    this.metrics = metrics;
    this.health = health;
  }

  @Override
  public Future<?> start() {
    return loadLimits()
        .compose(ready -> subscribe())
        .compose(ready -> vertx.deployVerticle(limitsVerticle = new LimitsVerticle(settings, limits, initialFileContent)))
        .compose(ready -> vertx.deployVerticle(new LatencyMonitorVerticle(settings, limits, throttle, metrics)))
        .compose(ready -> vertx.deployVerticle(new OpsVerticle(settings, health, metrics, limits, banCache, checkScript, banScript)))
        .compose(this::deployGrpc)
        .map(deployed -> {
          registerGauges();
          return deployed;
        })
        .onSuccess(id -> log.info("sluice serves gRPC on {}:{} with limits version {} from {} (redis {})",
            settings.host(), settings.port(), limits.get().version(), limits.get().source(), settings.redis()));
  }

  public LiveLimits limits() {
    return limits;
  }

  public boolean limitsSubscribed() {
    return limitsVerticle != null && limitsVerticle.isSubscribed();
  }

  public ThrottleFactors throttle() {
    return throttle;
  }

  public Metrics metrics() {
    return metrics;
  }

  public BanCache banCache() {
    return banCache;
  }

  private Future<Void> loadLimits() {
    String path = settings.limits();
    return vertx.fileSystem().readFile(path)
        .recover(failure -> Future.failedFuture(new IllegalArgumentException("cannot read limits file " + path + ": " + failure.getMessage())))
        .map(content -> {
          initialFileContent = content.toString();
          limits = new LiveLimits(LimitsParser.parse(initialFileContent, "file " + path, 1));
          health.limitsLoaded();
          return null;
        });
  }

  /** Unban notices keep the local ban cache honest; it serves only while they can arrive. */
  private Future<Void> subscribe() {
    redis = RedisClients.pooled(vertx, settings);
    subscriber = new Subscriber(vertx, settings)
        .channel(RedisKeys.BANS_CHANNEL, this::onBanNotice)
        .onStateChange(banCache::setLive);
    vertx.setPeriodic(BAN_CACHE_SWEEP_MS, timer -> banCache.sweep(System.nanoTime()));
    return subscriber.start();
  }

  private void onBanNotice(String message) {
    BanAdmin.UnbanNotice unban = BanAdmin.UnbanNotice.parse(message);
    if (unban != null) {
      banCache.invalidate(unban.userId(), unban.actionOrEmpty());
      if (!unban.id().isEmpty()) {
        BanAdmin.acknowledge(redis, unban.id())
            .onFailure(e -> log.warn("could not confirm unban notice {}: {}", unban.id(), e.toString()));
      }
    }
  }

  private Future<String> deployGrpc(String limitsDeployed) {
    int instances = settings.grpcInstances() > 0 ? settings.grpcInstances() : VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE;
    GrpcVerticle.Shared shared = new GrpcVerticle.Shared(settings, checkScript, banScript, limits, banCache, metrics, throttle, health);
    return vertx.deployVerticle(() -> new GrpcVerticle(shared), new DeploymentOptions().setInstances(instances));
  }

  /** State that lives elsewhere, read when Prometheus scrapes. */
  private void registerGauges() {
    metrics.gauge(Metrics.LIMITS_VERSION, "The version of the limits in force on this instance", () -> limits.get().version());
    metrics.counter(Metrics.LIMITS_RELOADS, "Limits updates, applied or rejected whole", limits, live -> live.status().applied(),
        "result", "applied");
    metrics.counter(Metrics.LIMITS_RELOADS, "Limits updates, applied or rejected whole", limits, live -> live.status().rejected(),
        "result", "rejected");
    metrics.gauge(Metrics.BANS_CACHED, "Users with a ban in this instance's cache", banCache::size);
    metrics.flag(Metrics.PUBSUB_SUBSCRIBED, "Whether the Pub/Sub subscription of a channel is up", subscriber::isSubscribed,
        "channel", RedisKeys.BANS_CHANNEL);
    metrics.flag(Metrics.PUBSUB_SUBSCRIBED, "Whether the Pub/Sub subscription of a channel is up", limitsVerticle::isSubscribed,
        "channel", RedisKeys.LIMITS_CHANNEL);
    metrics.flag(Metrics.READY, "Whether this instance is ready for traffic (as /health/ready)", health::ready);
    metrics.gauge(Metrics.CHECKS_IN_FLIGHT, "Checks received and not yet answered", health::inFlight);
  }

  @Override
  public Future<?> stop() {
    return subscriber == null ? Future.succeededFuture() : subscriber.close().eventually(redis::close);
  }
}
