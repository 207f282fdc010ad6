package io.sluice.grpc;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpcService;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.sluice.config.Listening;
import io.sluice.config.Settings;
import io.sluice.envoy.LiveEnvoyRules;
import io.sluice.grpc.v1.AdminGrpcService;
import io.sluice.grpc.v1.BanRequest;
import io.sluice.grpc.v1.CheckBatchRequest;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.GetLimitsRequest;
import io.sluice.grpc.v1.GetThrottleRequest;
import io.sluice.grpc.v1.ListBansRequest;
import io.sluice.grpc.v1.ReportLatencyRequest;
import io.sluice.grpc.v1.UnbanRequest;
import io.sluice.grpc.v1.RateLimiterGrpcService;
import io.sluice.audit.AuditTrail;
import io.sluice.limiter.BanAdmin;
import io.sluice.security.AdminTokens;
import io.sluice.limiter.TierAdmin;
import io.sluice.grpc.v1.GetTierRequest;
import io.sluice.grpc.v1.SetTierRequest;
import io.sluice.grpc.v1.AcquireRequest;
import io.sluice.grpc.v1.ReleaseRequest;
import io.sluice.grpc.v1.AdjustRequest;
import io.sluice.grpc.v1.OverrideRequest;
import io.sluice.grpc.v1.SetOverrideRequest;
import io.sluice.limiter.BanCache;
import io.sluice.limiter.CheckScripts;
import io.sluice.limiter.DenyCache;
import io.sluice.limiter.FleetSize;
import io.sluice.limiter.BanLog;
import io.sluice.limiter.Limiter;
import io.sluice.limiter.QuotaClock;
import io.sluice.limiter.LocalBuckets;
import io.sluice.limiter.SubjectOrder;
import io.sluice.limiter.ThrottleFactors;
import io.sluice.limits.LiveLimits;
import io.sluice.redis.LuaScript;
import io.sluice.redis.RedisBreakers;
import io.sluice.redis.NodeClients;
import io.sluice.redis.RedisClients;
import io.sluice.redis.RedisFaults;
import io.sluice.redis.RedisPipelines;
import io.sluice.redis.RedisTopology;
import io.sluice.platform.VertxInternals;
import io.sluice.security.BearerToken;
import io.sluice.security.FailedLogins;
import io.sluice.security.ServerTls;
import io.sluice.telemetry.Health;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.redis.client.Redis;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Serves the gRPC API on one event loop. Deployed once per event loop; all instances listen on the
 * same port and Vert.x spreads connections across them. Each owns its pipelined Redis connections,
 * opened (scripts loaded) before it listens, so a check never leaves the event loop it arrived on
 * and a cold instance answers its first burst from Redis.
 */
public final class GrpcVerticle extends VerticleBase {

  /** What every gRPC verticle of a process shares: all of it immutable or thread-safe. */
  public record Shared(Settings settings, CheckScripts checkScripts, LuaScript banScript, LiveLimits limits, BanCache banCache,
                       DenyCache denyCache, Metrics metrics, ThrottleFactors throttle, Health health, RedisTopology topology, RedisBreakers breakers,
                       RedisFaults faults, LocalBuckets localBuckets, FleetSize fleet, LiveEnvoyRules envoyRules,
                       ConnectionGuards.Open openConnections, int answersWaitingPerLoop, int maxChecksInFlight, SubjectOrder adminOrder,
                       FailedLogins failedLogins, LongSupplier decisionClock, QuotaClock quotaClock) {

    /**
     * The same, for the server an instance warms itself up on: on loopback in plain text, counting in
     * metrics and health of its own, so that neither the instance's metrics nor its readiness show it.
     */
    public Shared forWarmUp(Metrics unseen) {
      return new Shared(settings.onLoopback(), checkScripts, banScript, limits, banCache, denyCache, unseen, throttle,
          new Health(settings.failureMode()), topology, breakers, faults, localBuckets, fleet, envoyRules, new ConnectionGuards.Open(),
          answersWaitingPerLoop, maxChecksInFlight, adminOrder, failedLogins, decisionClock, quotaClock);
    }
  }

  /**
   * How long a connection whose call was shed is first left unread (four times longer if it is shed
   * again soon after): at a quarter of a second, a flood of 500 connections x 100 streams reached
   * the pace the instance can answer within 2 s instead of 4 (docs/benchmarks.md).
   */
  private static final long SHED_PAUSE_MS = 250;

  private final Shared shared;
  /** Set on the server an instance warms itself up on: only calls carrying it are served. */
  private final String warmUpSecret;
  private volatile int port;
  private Redis redis;
  private RedisPipelines pipelines;
  private NodeClients nodes;
  private ConnectionGuards guards;
  private BanLog banLog;
  private long banLogTimer = -1;

  public GrpcVerticle(Shared shared) {
    this(shared, null);
  }

  /** A server for {@link WarmUp} alone: a call without {@code warmUpSecret} in its {@link WarmUp#SECRET_HEADER} is refused. */
  GrpcVerticle(Shared shared, String warmUpSecret) {
    this.shared = shared;
    this.warmUpSecret = warmUpSecret;
  }

  /** The port it listens on, once started. */
  int port() {
    return port;
  }

  @Override
  public Future<?> start() {
    Settings settings = shared.settings();
    Settings.RedisSettings redisSettings = settings.redis();
    redis = RedisClients.pooled(vertx, settings, shared.topology());
    pipelines = new RedisPipelines(vertx, shared.topology(), shared.breakers(), shared.faults(), shared.checkScripts().all(),
        redisSettings.poolSize(), Math.max(1000, redisSettings.timeoutMs() * 4L), redisSettings.timeoutMs(),
        Math.max(5000, redisSettings.timeoutMs() * 4L),
        new RedisPipelines.Observer() {
          @Override
          public void connectionLost() {
            shared.denyCache().clear();
          }

          @Override
          public void wrote(int commands, int checks) {
            shared.metrics().redisWrite(commands, checks);
          }
        });
    return openRedis(redisSettings).compose(opened -> shared.health().mayListen() ? listen(settings)
        : Future.failedFuture(new Health.StoppedBeforeReady("once redis " + redisSettings.shownUri() + " answered")));
  }

  /**
   * Every connection of this event loop open, logged in and with the scripts loaded before the
   * port listens: checks that arrived earlier would meet connections still opening, and their
   * failures would open the breaker of a healthy Redis. A Redis that cannot be reached in
   * {@code redisStartupTimeoutMs} fails the start, naming where and why.
   */
  private Future<Void> openRedis(Settings.RedisSettings redisSettings) {
    Future<Void> opened = pipelines.open()
        .timeout(redisSettings.startupTimeoutMs(), TimeUnit.MILLISECONDS)
        .recover(failure -> Future.failedFuture(new IllegalStateException("redis " + redisSettings.shownUri()
            + " could not be reached within redisStartupTimeoutMs (" + redisSettings.startupTimeoutMs() + " ms): "
            + pipelines.lastFailure())));
    return shared.health().unlessStopped(context, opened, "while waiting for redis " + redisSettings.shownUri());
  }

  private Future<HttpServer> listen(Settings settings) {
    Health health = shared.health();
    guards = new ConnectionGuards(vertx, settings.connections(), shared.openConnections(), shared.answersWaitingPerLoop(),
        SHED_PAUSE_MS, shared.metrics(), health::inFlight, shared.maxChecksInFlight());
    Limiter limiter = new Limiter(pipelines, shared.checkScripts(), shared.limits(), shared.banCache(), shared.denyCache(), settings,
        shared.metrics(), shared.throttle(), shared.localBuckets(), shared.fleet(), shared.faults(), shared.decisionClock(),
        shared.quotaClock(), banLog = new BanLog(redis, shared.metrics()));
    banLogTimer = vertx.setPeriodic(BanLog.FLUSH_INTERVAL_MS, tick -> banLog.flush());
    Admission admission = new Admission(health, shared.metrics(), shared.maxChecksInFlight(), guards::light);
    nodes = new NodeClients(vertx, settings.redis(), shared.topology(), redis);
    BanAdmin bans = new BanAdmin(vertx, redis, settings.ops().adminTimeoutMs(), nodes, shared.banScript(), shared.banCache(), shared.metrics(), shared.limits(),
        shared.adminOrder());
    RateLimiterEndpoint rateLimiter = new RateLimiterEndpoint(limiter, redis, shared.throttle(), shared.metrics(), admission,
        shared.limits());
    GrpcServer grpc = GrpcServer.server(vertx)
        .addService(new UnaryService(RateLimiterGrpcService.SERVICE_NAME, RateLimiterGrpcService.SERVICE_DESCRIPTOR, shared.metrics(), guards::started)
            // A lease granted to a caller who is gone is given back at once, not left to its expiry.
            .method(RateLimiterGrpcService.Check, CheckRequest.parser(), rateLimiter::check,
                answer -> limiter.leases().undelivered(answer.getLeaseId()))
            .method(RateLimiterGrpcService.CheckBatch, CheckBatchRequest.parser(), rateLimiter::checkBatch,
                answer -> answer.getResultsList().forEach(result -> limiter.leases().undelivered(result.getLeaseId())))
            .method(RateLimiterGrpcService.Acquire, AcquireRequest.parser(), rateLimiter::acquire,
                answer -> limiter.leases().undelivered(answer.getLeaseId()))
            .method(RateLimiterGrpcService.Release, ReleaseRequest.parser(), rateLimiter::release)
            .method(RateLimiterGrpcService.Adjust, AdjustRequest.parser(), rateLimiter::adjust)
            .method(RateLimiterGrpcService.ReportLatency, ReportLatencyRequest.parser(), (call, request) -> rateLimiter.reportLatency(request)))
        .addService(new HealthEndpoint(vertx, health, shared.metrics(), guards::started))
        .addService(new Reflection());
    if (shared.envoyRules() != null) {
      EnvoyEndpoint envoy = new EnvoyEndpoint(limiter, shared.envoyRules(), admission, shared.metrics(), settings);
      grpc.addService(new UnaryService(RateLimitServiceGrpcService.SERVICE_NAME, RateLimitServiceGrpcService.SERVICE_DESCRIPTOR, shared.metrics(), guards::started)
          .method(RateLimitServiceGrpcService.ShouldRateLimit, RateLimitRequest.parser(), envoy::shouldRateLimit));
    }
    Settings.Security security = settings.security();
    AdminTokens adminTokens = AdminTokens.of(security.adminTokens());
    if (adminTokens != null) {
      // Without an admin token the Admin service is not served at all, as the admin HTTP API is not.
      AdminEndpoint admin = new AdminEndpoint(bans, new TierAdmin(vertx, redis, settings.ops().adminTimeoutMs(), shared.limits(),
          shared.denyCache(), shared.adminOrder()), shared.limits(), redis, new AuditTrail(redis, settings.ops().adminTimeoutMs()));
      // The access guard let the call in for one of the tokens: the audit trail records its name.
      java.util.function.Function<io.vertx.grpc.server.GrpcServerRequest<?, ?>, AuditTrail.Actor> actor = call -> new AuditTrail.Actor(
          adminTokens.actorOf(call.headers().get("authorization")), "cli".equals(call.headers().get(SluiceClient.CLIENT_HEADER)) ? "cli" : "grpc");
      grpc.addService(new UnaryService(AdminGrpcService.SERVICE_NAME, AdminGrpcService.SERVICE_DESCRIPTOR, shared.metrics(), guards::started)
          .method(AdminGrpcService.ListBans, ListBansRequest.parser(), (call, request) -> admin.listBans(request))
          .method(AdminGrpcService.Ban, BanRequest.parser(), (call, request) -> admin.ban(actor.apply(call), request))
          .method(AdminGrpcService.Unban, UnbanRequest.parser(), (call, request) -> admin.unban(actor.apply(call), request))
          .method(AdminGrpcService.GetLimits, GetLimitsRequest.parser(), (call, request) -> admin.getLimits(request))
          .method(AdminGrpcService.GetThrottle, GetThrottleRequest.parser(), (call, request) -> admin.getThrottle(request))
          .method(AdminGrpcService.SetTier, SetTierRequest.parser(), (call, request) -> admin.setTier(actor.apply(call), request))
          .method(AdminGrpcService.GetTier, GetTierRequest.parser(), (call, request) -> admin.getTier(request))
          .method(AdminGrpcService.SetOverride, SetOverrideRequest.parser(), (call, request) -> admin.setOverride(actor.apply(call), request))
          .method(AdminGrpcService.GetOverride, OverrideRequest.parser(), (call, request) -> admin.getOverride(request))
          .method(AdminGrpcService.ClearOverride, OverrideRequest.parser(), (call, request) -> admin.clearOverride(actor.apply(call), request))
          .method(AdminGrpcService.ListAudit, io.sluice.grpc.v1.ListAuditRequest.parser(), (call, request) -> admin.listAudit(request)));
    }
    HttpServer server = vertx.createHttpServer(ServerTls.grpc(Listening.guarded(settings.connections()), security))
        .requestHandler(guards.refusingStreamsPastTheLimit(WarmUp.onlyWith(warmUpSecret,
            new AccessGuard(grpc, adminTokens, BearerToken.of(security.reportToken()), shared.metrics(), shared.failedLogins()))))
        .connectionHandler(connection -> {
          if (guards.arrived(connection)) {
            flushOncePerTurn(connection);
          }
        });
    // After a warm-up its own sockets may hold this port's number for a moment (see Listening).
    long inUseForMs = warmUpSecret == null && settings.connections().warmUpCalls() > 0 ? WarmUp.PORT_HELD_MS : 0;
    return Listening.listen(server, "gRPC", settings.host(), settings.port(), "--port", vertx, inUseForMs)
        .onSuccess(listening -> port = listening.actualPort());
  }

  /**
   * Vert.x flushes an HTTP/2 response at once unless it is written while its own connection is
   * reading. A check's response is written when Redis answers, during the Redis connection's read, so
   * each one cost its own socket writes (headers, message, trailers: up to three). Flushes that arrive
   * outside a read now wait for the end of the event-loop turn, and every answer that Redis's reply
   * batch completed leaves in one write, as the requests arrived: the JVM's CPU per check fell from
   * about 27 to 14 us (docs/benchmarks.md). Placed last, it takes each flush before the HTTP/2
   * handler's flow controller runs for it, so that runs once per turn too. Vert.x has no public way
   * to a server connection's Netty pipeline, hence {@link VertxInternals#channelOf}.
   */
  private void flushOncePerTurn(HttpConnection connection) {
    ChannelPipeline pipeline = VertxInternals.channelOf(connection).pipeline();
    pipeline.addFirst("count-writes", new WriteCounter(shared.metrics()));
    pipeline.addLast("flush-once-per-turn", new FlushConsolidationHandler(256, true));
  }

  /** Counts the flushes that carry bytes to the socket: {@code sluice_grpc_writes_total}. */
  private static final class WriteCounter extends ChannelOutboundHandlerAdapter {
    private final Metrics metrics;
    private boolean pending;

    WriteCounter(Metrics metrics) {
      this.metrics = metrics;
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object message, ChannelPromise promise) {
      pending = true;
      ctx.write(message, promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
      if (pending) {
        // A read's end flushes whether or not anything was written: only a flush with bytes is a write.
        pending = false;
        metrics.grpcWrite();
      }
      ctx.flush();
    }
  }

  @Override
  public Future<?> stop() {
    if (guards != null) {
      guards.stop();
    }
    vertx.cancelTimer(banLogTimer);
    if (banLog != null && banLog.hasWaiting()) {
      // The bans made since the last flush, given the time of one interval before Redis's clients close.
      return banLog.flush().timeout(BanLog.FLUSH_INTERVAL_MS, TimeUnit.MILLISECONDS).eventually(this::closeRedis);
    }
    return closeRedis();
  }

  private Future<Void> closeRedis() {
    return pipelines.close().eventually(() -> {
      nodes.close();
      return redis.close();
    });
  }
}
