package io.sluice;

import io.sluice.config.Settings;
import io.sluice.grpc.ConnectionGuards;
import io.sluice.grpc.GrpcVerticle;
import io.sluice.grpc.WarmUp;
import io.sluice.limiter.BanAdmin;
import io.sluice.limiter.TierAdmin;
import io.sluice.envoy.EnvoyRulesVerticle;
import io.sluice.envoy.LiveEnvoyRules;
import io.sluice.limiter.BanCache;
import io.sluice.limiter.BanReconciler;
import io.sluice.limiter.MemoryBudgets;
import io.sluice.limiter.LruBytes;
import io.sluice.limiter.CheckScripts;
import io.sluice.limiter.DenyCache;
import io.sluice.limiter.FleetSize;
import io.sluice.limiter.LocalBuckets;
import io.sluice.limiter.QuotaClock;
import io.sluice.limiter.SubjectOrder;
import io.sluice.limiter.ThrottleFactors;
import io.sluice.limits.CappedFiles;
import io.sluice.limits.LimitsParser;
import io.sluice.limits.LimitsVerticle;
import io.sluice.limits.LiveLimits;
import io.sluice.ops.OpsVerticle;
import io.sluice.redis.RedisKeys;
import io.sluice.security.FailedLogins;
import io.sluice.telemetry.Health;
import io.sluice.telemetry.Metrics;
import io.sluice.telemetry.RepeatedLines;
import io.sluice.throttle.LatencyMonitorVerticle;
import io.sluice.redis.LuaScript;
import io.sluice.redis.RedisBreaker;
import io.sluice.redis.RedisBreakers;
import io.sluice.redis.RedisClients;
import io.sluice.redis.RedisFault;
import io.sluice.redis.RedisFaults;
import io.sluice.redis.RedisTopology;
import io.sluice.redis.Subscriber;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.VertxOptions;
import io.vertx.redis.client.Redis;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.UUID;
import java.util.function.LongSupplier;

/**
 * The only wiring: loads the limits, sets up the Redis path (topology, breakers, the fleet
 * heartbeat), subscribes to unban notices, then deploys the limits, latency-monitor, ops (HTTP; it
 * loads the Lua scripts into Redis) and gRPC verticles, in that order. A failure at any step fails
 * the deployment, so a bad limits file stops the process.
 */
public final class MainVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(MainVerticle.class);

  /** How often ended bans are dropped from the local cache. */
  private static final long BAN_CACHE_SWEEP_MS = 30_000;

  private final Settings settings;
  private final CheckScripts checkScripts = CheckScripts.load();
  private final LuaScript banScript = LuaScript.load("ban");
  private final LuaScript heartbeatScript = LuaScript.load("heartbeat");
  /** Names this instance in Redis: its heartbeat, and the throttle controller's lease. */
  private final String instanceId = UUID.randomUUID().toString();
  private final RedisFaults faults = new RedisFaults();
  private final MemoryBudgets budgets;
  private final LocalBuckets localBuckets;
  private RedisTopology topology;
  private RedisBreakers breakers;
  private FleetSize fleet;
  private final BanCache banCache;
  private final DenyCache denyCache;
  /** Null unless envoyRules names a directory. */
  private LiveEnvoyRules envoyRules;
  private java.util.Map<String, String> initialEnvoyFiles;
  private final Metrics metrics;
  private final Health health;
  private final ThrottleFactors throttle = new ThrottleFactors();
  private final ConnectionGuards.Open openConnections = new ConnectionGuards.Open();
  private LiveLimits limits;
  private String initialFileContent;
  private LimitsVerticle limitsVerticle;
  private Subscriber subscriber;
  private BanReconciler reconciler;
  /** Operators' changes to a user, in the order accepted, across the gRPC and HTTP admin paths. */
  private final SubjectOrder adminOrder;
  /**
   * Wrong admin tokens per address over the gRPC Admin service, counted apart from the HTTP port's:
   * every backend calls the gRPC port, often from an address it shares (a mesh's sidecar, a node's
   * NAT), and one with a stale token must not hold the operators behind that address back from
   * the admin API and the console too.
   */
  private final FailedLogins grpcFailedLogins;
  /** What the caches and local buckets read as now (Sluice#start). */
  private final LongSupplier decisionClock;
  private final QuotaClock quotaClock;
  /** For this verticle's own small writes (unban confirmations). */
  private Redis redis;

  public MainVerticle(Settings settings, Metrics metrics, Health health, LongSupplier decisionClock, QuotaClock quotaClock) {
    this.decisionClock = decisionClock;
    this.quotaClock = quotaClock;
    this.settings = settings;
    this.metrics = metrics;
    this.health = health;
    budgets = MemoryBudgets.of(Runtime.getRuntime().maxMemory(), settings.cacheHeapPercent(), settings.maxChecksInFlight());
    this.banCache = new BanCache(budgets.banBytes());
    this.adminOrder = new SubjectOrder();
    this.grpcFailedLogins = new FailedLogins(java.util.List.of());
    this.denyCache = new DenyCache(budgets.refusalBytes());
    this.localBuckets = new LocalBuckets(budgets.localBucketBytes());
  }

  @Override
  public Future<?> start() {
    // What does not depend on each other starts together; checks are served last, once the limits
    // stored in Redis are applied, so that an instance never serves limits the fleet does not.
    return loadLimits()
        .compose(ready -> loadEnvoyRules())
        .compose(ready -> connectRedis())
        .compose(ready -> Future.all(
            subscribe(),
            vertx.deployVerticle(limitsVerticle = new LimitsVerticle(settings, limits, initialFileContent, topology)),
            vertx.deployVerticle(new LatencyMonitorVerticle(settings, limits, throttle, metrics, instanceId, topology)),
            vertx.deployVerticle(new OpsVerticle(settings, health, metrics, limits, banCache, denyCache, adminOrder, checkScripts.check(), banScript, envoyRules, topology)),
            envoyRules == null ? Future.succeededFuture()
                : vertx.deployVerticle(new EnvoyRulesVerticle(settings, envoyRules, initialEnvoyFiles))))
        .compose(ready -> deployGrpc())
        .map(deployed -> {
          registerGauges();
          if (!health.stopWasRequested()) {
            // Not ready for a moment while it drains: a stop came after the port began to listen.
            health.serving();
            // The fleet hears at once that this instance is ready, not a heartbeat later.
            fleet.announceNow();
          }
          log.info("memory budgets of a {} MiB heap: caches {} MiB (bans {}, certain refusals {}, local buckets {}), {} answers waiting, "
                  + "{} checks in flight", Runtime.getRuntime().maxMemory() >> 20,
              (budgets.banBytes() + budgets.refusalBytes() + budgets.localBucketBytes()) >> 20, budgets.banBytes() >> 20,
              budgets.refusalBytes() >> 20, budgets.localBucketBytes() >> 20, budgets.answersWaiting(), budgets.checksInFlight());
          return deployed;
        })
        .onSuccess(id -> log.info("sluice serves gRPC{} on {}:{} with limits version {} from {} (redis {})",
            settings.security().grpcTls() ? (settings.security().tlsClientCa().isEmpty() ? " (TLS)" : " (mTLS)") : "",
            settings.host(), settings.port(), limits.get().version(), limits.get().source(), settings.redis().access()));
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

  public int fleetSize() {
    return fleet.live();
  }

  private Future<Void> loadLimits() {
    String path = settings.limits();
    return CappedFiles.read(vertx, path, settings.maxLimitsFileBytes())
        .recover(failure -> Future.failedFuture(failure instanceof CappedFiles.RefusedException
            ? new IllegalArgumentException("limits file " + failure.getMessage())
            : new IllegalArgumentException("cannot read limits file " + path
            + (java.nio.file.Path.of(path).isAbsolute() ? "" : " (relative to the working directory " + System.getProperty("user.dir") + ")")
            + ": " + CappedFiles.readFailure(failure))))
        .map(content -> {
          initialFileContent = content.toString();
          limits = new LiveLimits(LimitsParser.parse(initialFileContent, "file " + path, 1));
          health.limitsLoaded();
          return null;
        });
  }

  /**
   * Where checks go, the breakers that cut a failing node off, and this instance's heartbeat (the
   * local failure mode divides a limit by the live instances).
   */
  private Future<Void> connectRedis() {
    Settings.RedisSettings redisSettings = settings.redis();
    long waitMs = Math.max(1000, redisSettings.timeoutMs() * 4L);
    return RedisTopology.of(vertx, redisSettings, waitMs).compose(found -> {
      topology = found;
      redis = RedisClients.pooled(vertx, settings, topology);
      breakers = new RedisBreakers(vertx, redisSettings.access(), checkScripts.all(), redisSettings.breakerFailures(),
          redisSettings.breakerResetMs(), waitMs);
      topology.nodes().forEach(breakers::forNode);
      health.breakerState(breakers::worst);
      fleet = new FleetSize(vertx, redis, heartbeatScript, instanceId, settings.heartbeatMs(), this::statusForTheFleet);
      return fleet.start();
    });
  }

  /** The build, as its jar's manifest names it; "dev" when run from classes (tests, an IDE). */
  public static final String VERSION = java.util.Objects.requireNonNullElse(MainVerticle.class.getPackage().getImplementationVersion(), "dev");

  /**
   * What this instance tells the fleet of itself with each heartbeat: what the console shows of it,
   * with its decision totals and its most refused users, which the console sums over the fleet.
   */
  private String statusForTheFleet() {
    io.sluice.limits.LimitsStatus status = limits.status();
    return health.toJson().put("version", VERSION).put("grpc", settings.host() + ":" + settings.port())
        .put("http", settings.host() + ":" + settings.ops().httpPort()).put("limitsDigest", status.current().digest())
        .put("limitsVersion", status.current().version()).put("publishedVersion", status.publishedVersion())
        .put("decisions", io.sluice.ops.DecisionRates.totalsJson(metrics.registry())).put("decisionsAtMs", System.currentTimeMillis())
        .put("topLimited", metrics.topLimited().top(io.sluice.telemetry.TopLimited.Kind.LIMITED, 10))
        .put("topShadow", metrics.topLimited().top(io.sluice.telemetry.TopLimited.Kind.SHADOW, 10)).encode();
  }

  /**
   * Unban notices keep the local ban cache honest. Cached bans hold while they cannot arrive (an
   * attacker who slows Redis must not escape a ban); once they can again, the cache is caught up
   * with what Redis holds, so that an unban made meanwhile applies.
   */
  private Future<Void> subscribe() {
    reconciler = new BanReconciler(banCache, redis);
    subscriber = new Subscriber(vertx, settings, topology)
        .channel(RedisKeys.BANS_CHANNEL, this::onBanNotice)
        .onStateChange(subscribed -> {
          banCache.unbansArrive(subscribed);
          // Plan changes may go unheard while the subscription is down: refusals cached meanwhile, or
          // before, may be of an old plan. Redis makes them again, once per user.
          denyCache.clear();
          if (subscribed) {
            reconciler.run();
          }
        });
    vertx.setPeriodic(BAN_CACHE_SWEEP_MS, timer -> {
      // On the clock the entries were written on.
      long now = decisionClock.getAsLong();
      banCache.sweep(now);
      denyCache.sweep(now);
    });
    return subscriber.start();
  }

  private void onBanNotice(String message) {
    TierAdmin.TierNotice tier = TierAdmin.TierNotice.parse(message);
    if (tier != null) {
      // The user's cached refusals were certain under the old plan only.
      denyCache.forgetUser(tier.userId());
      return;
    }
    BanAdmin.UnbanNotice unban = BanAdmin.UnbanNotice.parse(message);
    if (unban != null) {
      banCache.invalidate(unban.userId(), unban.actionOrEmpty());
      if (!unban.id().isEmpty()) {
        BanAdmin.acknowledge(redis, unban.id())
            .onFailure(e -> log.warn("could not confirm unban notice {}: {}", unban.id(), e.toString()));
      }
    }
  }

  /** The Envoy rules, when a directory is set: an instance with invalid rules does not start, as with invalid limits. */
  private Future<Void> loadEnvoyRules() {
    if (!settings.envoy().enabled()) {
      return Future.succeededFuture();
    }
    return EnvoyRulesVerticle.read(vertx, settings).map(files -> {
      initialEnvoyFiles = files;
      envoyRules = new LiveEnvoyRules(EnvoyRulesVerticle.parse(files, settings), EnvoyRulesVerticle.source(settings));
      log.info("envoy rules from {}: domains {}", settings.envoy().rules(), new java.util.TreeSet<>(envoyRules.get().domains().keySet()));
      return null;
    });
  }

  private Future<String> deployGrpc() {
    int instances = settings.grpcInstances() > 0 ? settings.grpcInstances() : VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE;
    GrpcVerticle.Shared shared = new GrpcVerticle.Shared(settings, checkScripts, banScript, limits, banCache, denyCache, metrics, throttle, health,
        topology, breakers, faults, localBuckets, fleet, envoyRules, openConnections, Math.max(16, budgets.answersWaiting() / instances),
        budgets.checksInFlight(), adminOrder, grpcFailedLogins, decisionClock, quotaClock);
    return WarmUp.run(vertx, shared, settings.connections().warmUpCalls(), instances)
        .compose(warm -> vertx.deployVerticle(() -> new GrpcVerticle(shared), new DeploymentOptions().setInstances(instances)));
  }

  /** State that lives elsewhere, read when Prometheus scrapes. */
  private void registerGauges() {
    metrics.gauge(Metrics.LIMITS_VERSION, "This instance's count of limits updates applied: it differs between instances",
        () -> limits.get().version());
    metrics.gauge(Metrics.LIMITS_PUBLISHED_VERSION, "The version of the published limits changes in force ({sluice}:limits): "
        + "the same on every instance that applied them", () -> limits.status().publishedVersion());
    // 48 bits: exact as a double, so instances enforcing the same limits show the same value.
    metrics.gauge(Metrics.LIMITS_DIGEST, "The digest of the limits in force, as a number: equal on instances that enforce the same limits",
        () -> Long.parseLong(limits.get().digest(), 16));
    metrics.counter(Metrics.LIMITS_RELOADS, "Limits updates, applied or rejected whole", limits, live -> live.status().applied(),
        "result", "applied");
    metrics.counter(Metrics.LIMITS_RELOADS, "Limits updates, applied or rejected whole", limits, live -> live.status().rejected(),
        "result", "rejected");
    metrics.gauge(Metrics.BANS_CACHED, "Users with a ban in this instance's cache", banCache::size);
    if (envoyRules != null) {
      String reloads = "Envoy rule sets, applied or rejected whole";
      metrics.counter(Metrics.ENVOY_RELOADS, reloads, envoyRules, LiveEnvoyRules::applied, "result", "applied");
      metrics.counter(Metrics.ENVOY_RELOADS, reloads, envoyRules, LiveEnvoyRules::rejected, "result", "rejected");
    }
    metrics.gauge(Metrics.DENIES_CACHED, "Users with a refusal in this instance's cache (certain until Redis would allow)", denyCache::size);
    metrics.counter(Metrics.LOG_LINES_SUPPRESSED, "Log lines left out because more of their kind came within 10 s", this,
        self -> RepeatedLines.suppressed());
    memoryOf("bans", banCache.memory());
    memoryOf("refusals", denyCache.memory());
    memoryOf("local_buckets", localBuckets.memory());
    metrics.flag(Metrics.PUBSUB_SUBSCRIBED, "Whether the Pub/Sub subscription of a channel is up", subscriber::isSubscribed,
        "channel", RedisKeys.BANS_CHANNEL);
    metrics.flag(Metrics.PUBSUB_SUBSCRIBED, "Whether the Pub/Sub subscription of a channel is up", limitsVerticle::isSubscribed,
        "channel", RedisKeys.LIMITS_CHANNEL);
    metrics.flag(Metrics.READY, "Whether this instance is ready for traffic (as /health/ready)", health::ready);
    metrics.gauge(Metrics.CHECKS_IN_FLIGHT, "Checks received and not yet answered", health::inFlight);
    metrics.gauge(Metrics.CONNECTIONS_OPEN, "Connections open on the gRPC port", openConnections.connections::get);
    metrics.gauge(Metrics.ANSWERS_WAITING, "Answers handed to gRPC connections that their peers have not taken yet",
        openConnections.answersWaiting::get);
    for (RedisBreaker breaker : breakers.all()) {
      metrics.gauge(Metrics.BREAKER_STATE, "The circuit breaker of a Redis node: 0 closed, 1 half-open (probing), 2 open",
          () -> breaker.state().ordinal(), "node", breaker.node());
    }
    for (RedisFault fault : RedisFault.values()) {
      metrics.counter(Metrics.REDIS_ERRORS, "Redis calls of checks that failed, by kind (unavailability and faults)", faults,
          counted -> counted.count(fault), "kind", fault.label());
    }
    metrics.gauge(Metrics.LIVE_INSTANCES, "Live Sluice instances, from their heartbeats (the local failure mode's divisor)",
        fleet::live);
  }

  private void memoryOf(String cache, LruBytes<?, ?> memory) {
    metrics.gauge(Metrics.CACHE_BYTES, "Estimated heap bytes an in-process cache holds", memory::bytes, "cache", cache);
    metrics.gauge(Metrics.CACHE_BUDGET_BYTES, "The bytes an in-process cache may hold (a share of the heap)", memory::budgetBytes,
        "cache", cache);
    metrics.counter(Metrics.CACHE_EVICTIONS, "Entries dropped, least recently used first, to keep a cache within its budget", memory,
        LruBytes::evictions, "cache", cache);
  }

  @Override
  public Future<?> stop() {
    Future<Void> left = fleet == null ? Future.succeededFuture() : fleet.leave();
    return left
        .eventually(() -> subscriber == null ? Future.succeededFuture() : subscriber.close())
        .eventually(() -> breakers == null ? Future.succeededFuture() : breakers.close())
        .eventually(() -> redis == null ? Future.succeededFuture() : redis.close());
  }
}
