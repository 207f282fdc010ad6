package io.sluice.ops;

import io.sluice.audit.AuditTrail;
import io.sluice.security.AdminTokens;
import io.sluice.security.FailedLogins;
import io.sluice.config.Listening;
import io.sluice.config.Settings;
import io.sluice.limiter.BanAdmin;
import io.sluice.envoy.LiveEnvoyRules;
import io.sluice.limiter.BanCache;
import io.sluice.limiter.DenyCache;
import io.sluice.limiter.TierAdmin;
import io.sluice.limiter.SubjectOrder;
import io.sluice.limits.LiveLimits;
import io.sluice.redis.LuaScript;
import io.sluice.redis.NodeClients;
import io.sluice.redis.RedisTopology;
import io.sluice.redis.RedisClients;
import io.sluice.security.ServerTls;
import io.sluice.telemetry.Health;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.micrometer.PrometheusScrapingHandler;
import io.vertx.redis.client.Redis;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The operators' HTTP port: {@code /metrics} for Prometheus, {@code /health/live} and
 * {@code /health/ready} for orchestrators, and the admin API. It is also where the Lua scripts get
 * into Redis: at start (before the gRPC verticles serve), and every {@code healthCheckMs} after,
 * when it asks Redis whether they are loaded and loads any that are not. That keeps readiness
 * current without check traffic, and a Redis that was down at start or restarted is caught up.
 * Redis being down at start is not fatal: checks answer in the failure mode meanwhile, and a check
 * that meets NOSCRIPT loads its script itself.
 */
public final class OpsVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(OpsVerticle.class);

  private final Settings settings;
  private final Health health;
  private final Metrics metrics;
  private final LiveLimits limits;
  private final BanCache banCache;
  private final LuaScript banScript;
  private final List<LuaScript> scripts;
  private final SubjectOrder adminOrder;
  private final DenyCache denyCache;
  private final LiveEnvoyRules envoyRules;
  private final RedisTopology topology;
  private Redis redis;
  private long probeTimer = -1;
  private long ratesTimer = -1;
  private long ratesTicks;

  public OpsVerticle(Settings settings, Health health, Metrics metrics, LiveLimits limits, BanCache banCache, DenyCache denyCache,
                     SubjectOrder adminOrder, LuaScript checkScript, LuaScript banScript, LiveEnvoyRules envoyRules, RedisTopology topology) {
    this.topology = topology;
    this.denyCache = denyCache;
    this.settings = settings;
    this.health = health;
    this.metrics = metrics;
    this.limits = limits;
    this.banCache = banCache;
    this.adminOrder = adminOrder;
    this.banScript = banScript;
    this.scripts = List.of(checkScript, banScript);
    this.envoyRules = envoyRules;
  }

  @Override
  public Future<?> start() {
    redis = RedisClients.pooled(vertx, settings, topology);
    Settings.Ops ops = settings.ops();
    Router router = Router.router(vertx);
    router.get("/metrics").handler(PrometheusScrapingHandler.create(metrics.registry()));
    router.get("/health/live").handler(ctx -> AdminRoutes.json(ctx, 200, new JsonObject().put("live", true)));
    router.get("/health/ready").handler(ctx -> AdminRoutes.json(ctx, health.ready() ? 200 : 503, health.toJson()));
    AdminTokens adminTokens = AdminTokens.of(settings.security().adminTokens());
    if (adminTokens == null) {
      AdminRoutes.disabled(router);
      router.route("/console*").handler(ctx -> AdminRoutes.json(ctx, 404,
          new JsonObject().put("error", "the console is off; set adminToken (SLUICE_ADMIN_TOKEN) or adminTokensFile to turn it on")));
    } else {
      long timeoutMs = settings.ops().adminTimeoutMs();
      FailedLogins failedLogins = new FailedLogins(ops.trustedProxies());
      DecisionRates rates = new DecisionRates(metrics.registry());
      FleetDecisions fleetRates = new FleetDecisions(redis, metrics.registry(), timeoutMs);
      ratesTimer = vertx.setPeriodic(1000, tick -> {
        rates.sample();
        fleetRates.tick();
        if (++ratesTicks % 60 == 0) {
          metrics.topLimited().decay();
        }
      });
      AdminRoutes admin = new AdminRoutes(vertx, adminTokens, new AuditTrail(redis, timeoutMs), new BanAdmin(vertx, redis, timeoutMs, new NodeClients(vertx, settings.redis(), topology, redis), banScript,
          banCache, metrics, limits, adminOrder), new TierAdmin(vertx, redis, timeoutMs, limits, denyCache, adminOrder), limits, redis, metrics,
          envoyRules, rates, fleetRates, failedLogins);
      admin.mount(router);
      new Console(adminTokens, !"off".equals(settings.security().httpTls()), metrics, ops.consoleOrigins(), failedLogins).mount(router, admin);
    }
    HttpServer server = vertx.createHttpServer(ServerTls.http(Listening.guarded(settings.connections()), settings.security())).requestHandler(router);
    return probeRedis()
        .onFailure(e -> log.warn("could not load the Lua scripts into redis at start: {}", e.toString()))
        .otherwiseEmpty()
        .compose(probed -> {
          probeTimer = vertx.setPeriodic(ops.healthCheckMs(), timer -> probeRedis());
          return Listening.listen(server, "HTTP (metrics, health, admin)", settings.host(), ops.httpPort(), "--http-port");
        })
        .onSuccess(listening -> log.info("metrics, health{} on {}://{}:{}", adminTokens == null ? "" : " and admin",
            "off".equals(settings.security().httpTls()) ? "http" : "https", settings.host(), listening.actualPort()));
  }

  /** Whether Redis answers and holds our scripts (loading those it lacks) is readiness. */
  private Future<Void> probeRedis() {
    return LuaScript.loadMissing(redis, scripts)
        .timeout(Math.max(settings.redis().timeoutMs(), 1000), TimeUnit.MILLISECONDS)
        .andThen(done -> health.redis(done.succeeded(), done.succeeded()));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(probeTimer);
    vertx.cancelTimer(ratesTimer);
    return redis.close();
  }
}
