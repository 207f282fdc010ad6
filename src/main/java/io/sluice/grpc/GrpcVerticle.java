package io.sluice.grpc;

import io.sluice.config.Settings;
import io.sluice.grpc.v1.AdminGrpcService;
import io.sluice.grpc.v1.RateLimiterGrpcService;
import io.sluice.limiter.BanAdmin;
import io.sluice.limiter.BanCache;
import io.sluice.limiter.FleetSize;
import io.sluice.limiter.Limiter;
import io.sluice.limiter.LocalBuckets;
import io.sluice.limits.LiveLimits;
import io.sluice.ops.Health;
import io.sluice.ops.Metrics;
import io.sluice.redis.LuaScript;
import io.sluice.redis.RedisBreakers;
import io.sluice.redis.RedisClients;
import io.sluice.redis.RedisFaults;
import io.sluice.redis.RedisPipelines;
import io.sluice.redis.RedisTopology;
import io.sluice.security.BearerToken;
import io.sluice.security.ServerTls;
import io.sluice.throttle.ThrottleFactors;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.grpc.health.HealthService;
import io.vertx.grpc.reflection.ReflectionService;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.redis.client.Redis;

import java.util.List;

/**
 * Serves the gRPC API on one event loop. Deployed once per event loop; all instances listen on the
 * same port and Vert.x spreads connections across them. Each owns its pipelined Redis connections,
 * opened (scripts loaded) before it listens, so a check never leaves the event loop it arrived on
 * and a cold instance answers its first burst from Redis.
 */
public final class GrpcVerticle extends VerticleBase {

  /** What every gRPC verticle of a process shares: all of it immutable or thread-safe. */
  public record Shared(Settings settings, LuaScript checkScript, LuaScript banScript, LiveLimits limits, BanCache banCache,
                       Metrics metrics, ThrottleFactors throttle, Health health, RedisTopology topology, RedisBreakers breakers,
                       RedisFaults faults, LocalBuckets localBuckets, FleetSize fleet) {
  }

  private final Shared shared;
  private Redis redis;
  private RedisPipelines pipelines;

  public GrpcVerticle(Shared shared) {
    this.shared = shared;
  }

  @Override
  public Future<?> start() {
    Settings settings = shared.settings();
    Settings.RedisSettings redisSettings = settings.redis();
    redis = RedisClients.pooled(vertx, settings);
    pipelines = new RedisPipelines(vertx, shared.topology(), shared.breakers(), shared.faults(), List.of(shared.checkScript()),
        redisSettings.poolSize(), Math.max(1000, redisSettings.timeoutMs() * 4L), Math.max(5000, redisSettings.timeoutMs() * 4L));
    return pipelines.open().compose(opened -> listen(settings));
  }

  private Future<HttpServer> listen(Settings settings) {
    Health health = shared.health();
    Limiter limiter = new Limiter(pipelines, shared.checkScript(), shared.limits(), shared.banCache(), settings, shared.metrics(),
        shared.throttle(), shared.localBuckets(), shared.fleet(), shared.faults());
    BanAdmin bans = new BanAdmin(vertx, redis, shared.banScript(), shared.banCache(), shared.metrics(), shared.limits());
    RateLimiterEndpoint rateLimiter = new RateLimiterEndpoint(limiter, redis, shared.throttle(), shared.metrics(), health,
        settings.maxChecksInFlight(), shared.limits());
    // Standard health: the server ("") and the check service are SERVING exactly when /health/ready says ready.
    HealthService grpcHealth = HealthService.create(vertx)
        .register("", () -> Future.succeededFuture(health.ready()))
        .register(RateLimiterGrpcService.SERVICE_NAME, () -> Future.succeededFuture(health.ready()));
    GrpcServer grpc = GrpcServer.server(vertx)
        .addService(RateLimiterGrpcService.builder(rateLimiter).bind(RateLimiterGrpcService.ReportLatency).build())
        .callHandler(RateLimiterGrpcService.Check, rateLimiter::check)
        .addService(grpcHealth)
        .addService(ReflectionService.v1());
    Settings.Security security = settings.security();
    BearerToken adminToken = BearerToken.of(security.adminToken());
    if (adminToken != null) {
      // Without an admin token the Admin service is not served at all, as the admin HTTP API is not.
      grpc.addService(AdminGrpcService.of(new AdminEndpoint(bans, shared.limits(), redis)));
    }
    HttpServer server = vertx.createHttpServer(ServerTls.grpc(new HttpServerOptions()
        .setHost(settings.host())
        .setPort(settings.port()), security));
    return server.requestHandler(new AccessGuard(grpc, adminToken, BearerToken.of(security.reportToken()), shared.metrics())).listen();
  }

  @Override
  public Future<?> stop() {
    return pipelines.close().eventually(redis::close);
  }
}
