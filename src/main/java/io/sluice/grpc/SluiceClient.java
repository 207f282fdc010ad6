package io.sluice.grpc;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpcClient;
import io.sluice.grpc.v1.AdminGrpcClient;
import io.sluice.grpc.v1.BanInfo;
import io.sluice.grpc.v1.BanRequest;
import io.sluice.grpc.v1.CheckBatchRequest;
import io.sluice.grpc.v1.CheckBatchResponse;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.GetLimitsRequest;
import io.sluice.grpc.v1.GetThrottleRequest;
import io.sluice.grpc.v1.LimitsStatus;
import io.sluice.grpc.v1.ListBansRequest;
import io.sluice.grpc.v1.ListBansResponse;
import io.sluice.grpc.v1.RateLimiterGrpcClient;
import io.sluice.grpc.v1.ReportLatencyRequest;
import io.sluice.grpc.v1.ReportLatencyResponse;
import io.sluice.grpc.v1.ThrottleStatus;
import io.sluice.grpc.v1.UnbanRequest;
import io.sluice.grpc.v1.GetTierRequest;
import io.sluice.grpc.v1.SetTierRequest;
import io.sluice.grpc.v1.StoredTier;
import io.sluice.grpc.v1.AcquireRequest;
import io.sluice.grpc.v1.AcquireResponse;
import io.sluice.grpc.v1.ReleaseRequest;
import io.sluice.grpc.v1.AdjustRequest;
import io.sluice.grpc.v1.AdjustResponse;
import io.sluice.grpc.v1.ReleaseResponse;
import io.sluice.grpc.v1.OverrideRequest;
import io.sluice.grpc.v1.SetOverrideRequest;
import io.sluice.grpc.v1.StoredOverride;
import io.sluice.grpc.v1.UnbanResponse;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.health.v1.HealthCheckRequest;
import io.vertx.grpc.health.v1.HealthCheckResponse;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A client of one Sluice instance for the CLI, the simulator and the tests. Unlike the generated
 * client, a failed call keeps the server's status message (which names the bad field).
 */
public final class SluiceClient {

  /** {@code grpc.health.v1.Health/Check}, which the generated clients do not include. */
  public static final ServiceMethod<HealthCheckResponse, HealthCheckRequest> HEALTH_CHECK = ServiceMethod.client(
      ServiceName.create("grpc.health.v1.Health"), "Check",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthCheckResponse.newBuilder()));

  /** Metadata that says which tool made an Admin call: the audit trail records {@code cli} for the CLI's. */
  public static final String CLIENT_HEADER = "sluice-client";

  private final GrpcClient client;
  private final SocketAddress target;
  private final String authorization;
  private String clientName;

  public SluiceClient(Vertx vertx, SocketAddress target) {
    this(vertx, target, ClientAccess.PLAIN);
  }

  public SluiceClient(Vertx vertx, SocketAddress target, ClientAccess access) {
    this.client = GrpcClient.client(vertx, access.httpOptions());
    this.target = target;
    this.authorization = access.bearerToken().isEmpty() ? null : "Bearer " + access.bearerToken();
  }

  /** Says on each call that {@code name} (the CLI: "cli") makes it. */
  public SluiceClient calledBy(String name) {
    this.clientName = name;
    return this;
  }

  public SocketAddress target() {
    return target;
  }

  public Future<CheckResponse> check(CheckRequest request) {
    return call(RateLimiterGrpcClient.Check, request, 0);
  }

  /** A check with a gRPC deadline ({@code grpc-timeout}): the server answers within it, with a decision or an error. */
  public Future<CheckResponse> check(CheckRequest request, long timeoutMs) {
    return call(RateLimiterGrpcClient.Check, request, timeoutMs);
  }

  public Future<CheckResponse> check(String userId, String action, int cost) {
    return check(CheckRequest.newBuilder().setUserId(userId).setAction(action).setCost(cost).build());
  }

  public Future<AcquireResponse> acquire(AcquireRequest request) {
    return acquire(request, 0);
  }

  /** @param timeoutMs the gRPC deadline ({@code grpc-timeout}); 0 for none */
  public Future<AcquireResponse> acquire(AcquireRequest request, long timeoutMs) {
    return call(RateLimiterGrpcClient.Acquire, request, timeoutMs);
  }

  public Future<AdjustResponse> adjust(AdjustRequest request) {
    return call(RateLimiterGrpcClient.Adjust, request, 0);
  }

  public Future<ReleaseResponse> release(String leaseId) {
    return call(RateLimiterGrpcClient.Release, ReleaseRequest.newBuilder().setLeaseId(leaseId).build(), 0);
  }

  public Future<CheckBatchResponse> checkBatch(CheckBatchRequest request) {
    return checkBatch(request, 0);
  }

  /** @param timeoutMs the gRPC deadline ({@code grpc-timeout}); 0 for none */
  public Future<CheckBatchResponse> checkBatch(CheckBatchRequest request, long timeoutMs) {
    return call(RateLimiterGrpcClient.CheckBatch, request, timeoutMs);
  }

  /** Envoy's rate limit service, as Envoy calls it. */
  public Future<RateLimitResponse> shouldRateLimit(RateLimitRequest request) {
    return call(RateLimitServiceGrpcClient.ShouldRateLimit, request, 0);
  }

  public Future<io.sluice.grpc.v1.ListAuditResponse> listAudit(int count, String userIdOrEmpty) {
    return call(AdminGrpcClient.ListAudit, io.sluice.grpc.v1.ListAuditRequest.newBuilder().setCount(count).setUserId(userIdOrEmpty).build());
  }

  public Future<ListBansResponse> listBans(String userIdOrEmpty) {
    return call(AdminGrpcClient.ListBans, ListBansRequest.newBuilder().setUserId(userIdOrEmpty).build());
  }

  public Future<BanInfo> ban(String userId, String actionOrEmpty, long durationSeconds, String reason) {
    return call(AdminGrpcClient.Ban, BanRequest.newBuilder()
        .setUserId(userId).setAction(actionOrEmpty).setDurationSeconds(durationSeconds).setReason(reason).build());
  }

  /** Stores the user's plan; an empty tier removes it. */
  public Future<StoredTier> setTier(String userId, String tierOrEmpty) {
    return call(AdminGrpcClient.SetTier, SetTierRequest.newBuilder().setUserId(userId).setTier(tierOrEmpty).build());
  }

  public Future<StoredTier> getTier(String userId) {
    return call(AdminGrpcClient.GetTier, GetTierRequest.newBuilder().setUserId(userId).build());
  }

  public Future<StoredOverride> setOverride(SetOverrideRequest request) {
    return call(AdminGrpcClient.SetOverride, request);
  }

  public Future<StoredOverride> getOverride(String userId, String action) {
    return call(AdminGrpcClient.GetOverride, OverrideRequest.newBuilder().setUserId(userId).setAction(action).build());
  }

  public Future<StoredOverride> clearOverride(String userId, String action) {
    return call(AdminGrpcClient.ClearOverride, OverrideRequest.newBuilder().setUserId(userId).setAction(action).build());
  }

  public Future<UnbanResponse> unban(String userId, String actionOrEmpty) {
    return call(AdminGrpcClient.Unban, UnbanRequest.newBuilder().setUserId(userId).setAction(actionOrEmpty).build());
  }

  public Future<ReportLatencyResponse> reportLatency(String actionOrEmpty, List<Double> latenciesMs) {
    return call(RateLimiterGrpcClient.ReportLatency, ReportLatencyRequest.newBuilder()
        .setAction(actionOrEmpty).addAllLatencyMs(latenciesMs).build());
  }

  public Future<ThrottleStatus> getThrottle() {
    return call(AdminGrpcClient.GetThrottle, GetThrottleRequest.getDefaultInstance());
  }

  /** {@code grpc.health.v1.Health/Check} of the whole server: the cheapest call it answers, a floor to compare checks with. */
  public Future<HealthCheckResponse> health() {
    return call(HEALTH_CHECK, HealthCheckRequest.getDefaultInstance());
  }

  public Future<LimitsStatus> getLimits() {
    return call(AdminGrpcClient.GetLimits, GetLimitsRequest.getDefaultInstance());
  }

  <Req, Resp> Future<Resp> call(ServiceMethod<Resp, Req> method, Req request) {
    return call(method, request, 0);
  }

  private <Req, Resp> Future<Resp> call(ServiceMethod<Resp, Req> method, Req request, long timeoutMs) {
    return client.request(target, method)
        .compose(call -> {
          if (timeoutMs > 0) {
            call.timeout(timeoutMs, TimeUnit.MILLISECONDS);
          }
          if (authorization != null && method != RateLimiterGrpcClient.Check) {
            // The Admin service and ReportLatency want a token; checks never carry it.
            call.headers().set("authorization", authorization);
          }
          if (clientName != null) {
            call.headers().set(CLIENT_HEADER, clientName);
          }
          return call.end(request).compose(sent -> call.response());
        })
        .compose(SluiceClient::lastOrStatus);
  }

  private static <Resp> Future<Resp> lastOrStatus(GrpcClientResponse<?, Resp> response) {
    return response.last().recover(failure -> response.status() != null && response.status() != GrpcStatus.OK
        ? Future.failedFuture(new CallFailedException(response.status(), response.statusMessage()))
        : Future.failedFuture(failure));
  }

  public Future<Void> close() {
    return client.close();
  }

  /** A call answered with a non-OK gRPC status. */
  public static final class CallFailedException extends RuntimeException {
    private final GrpcStatus status;

    public CallFailedException(GrpcStatus status, String message) {
      super(status.name() + ": " + message, null, false, false);
      this.status = status;
    }

    public GrpcStatus status() {
      return status;
    }
  }
}
