package io.sluice.grpc;

import io.sluice.config.Settings;
import io.sluice.limiter.Limiter;
import io.sluice.limits.Limits;
import io.sluice.redis.LuaScript;
import io.sluice.redis.RedisClients;
import io.sluice.grpc.v1.RateLimiterGrpcService;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.redis.client.Redis;

import java.util.function.Supplier;

/**
 * Serves the gRPC API on one event loop. Deployed once per event loop; all instances listen on the
 * same port and Vert.x spreads connections across them. Each owns its Redis client, so a check
 * never leaves the event loop it arrived on.
 */
public final class GrpcVerticle extends VerticleBase {

  private final Settings settings;
  private final LuaScript tokenBucket;
  private final Supplier<Limits> limits;
  private Redis redis;

  public GrpcVerticle(Settings settings, LuaScript tokenBucket, Supplier<Limits> limits) {
    this.settings = settings;
    this.tokenBucket = tokenBucket;
    this.limits = limits;
  }

  @Override
  public Future<?> start() {
    redis = RedisClients.pooled(vertx, settings);
    Limiter limiter = new Limiter(redis, tokenBucket, limits, settings.failureMode(), settings.redisTimeoutMs());
    GrpcServer grpc = GrpcServer.server(vertx)
        .addService(RateLimiterGrpcService.of(new RateLimiterEndpoint(limiter)));
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
