package io.sluice.grpc;

import io.sluice.config.Settings;
import io.sluice.grpc.v1.AdminGrpcService;
import io.sluice.grpc.v1.RateLimiterGrpcService;
import io.sluice.limiter.BanAdmin;
import io.sluice.limiter.BanCache;
import io.sluice.limiter.Limiter;
import io.sluice.limits.LiveLimits;
import io.sluice.ops.Health;
import io.sluice.ops.Metrics;
import io.sluice.throttle.ThrottleFactors;
import io.sluice.redis.LuaScript;
import io.sluice.redis.RedisClients;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.grpc.health.HealthService;
import io.vertx.grpc.reflection.ReflectionService;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.redis.client.Redis;


/**
 * Serves the gRPC API on one event loop. Deployed once per event loop; all instances listen on the
 * same port and Vert.x spreads connections across them. Each owns its Redis client, so a check
 * never leaves the event loop it arrived on.
 */
public final class GrpcVerticle extends VerticleBase {

  /** What every gRPC verticle of a process shares: all of it immutable or thread-safe. */
  public record Shared(Settings settings, LuaScript checkScript, LuaScript banScript, LiveLimits limits, BanCache banCache,
                       Metrics metrics, ThrottleFactors throttle, Health health) {
  }

  private final Shared shared;
  private Redis redis;

  public GrpcVerticle(Shared shared) {
    this.shared = shared;
  }

  @Override
  public Future<?> start() {
    Settings settings = shared.settings();
    redis = RedisClients.pooled(vertx, settings);
    Health health = shared.health();
    Limiter limiter = new Limiter(redis, shared.checkScript(), shared.limits(), shared.banCache(), settings, shared.metrics(),
        shared.throttle(), health);
    BanAdmin bans = new BanAdmin(vertx, redis, shared.banScript(), shared.banCache(), shared.metrics());
    // Standard health: the server ("") and the check service are SERVING exactly when /health/ready says ready.
    HealthService grpcHealth = HealthService.create(vertx)
        .register("", () -> Future.succeededFuture(health.ready()))
        .register(RateLimiterGrpcService.SERVICE_NAME, () -> Future.succeededFuture(health.ready()));
    GrpcServer grpc = GrpcServer.server(vertx)
        .addService(RateLimiterGrpcService.of(new RateLimiterEndpoint(limiter, redis, shared.throttle(), shared.metrics(), health)))
        .addService(AdminGrpcService.of(new AdminEndpoint(bans, shared.limits(), redis)))
        .addService(grpcHealth)
        .addService(ReflectionService.v1());
    HttpServer server = vertx.createHttpServer(new HttpServerOptions()
        .setHost(settings.host())
        .setPort(settings.port()));
    return server.requestHandler(grpc).listen();
  }

  @Override
  public Future<?> stop() {
    return redis.close();
  }
}
