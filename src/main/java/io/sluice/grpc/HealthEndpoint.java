package io.sluice.grpc;

import com.google.protobuf.Descriptors;
import io.sluice.telemetry.Health;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.health.v1.HealthCheckRequest;
import io.vertx.grpc.health.v1.HealthCheckResponse;
import io.vertx.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.vertx.grpc.health.v1.HealthListRequest;
import io.vertx.grpc.health.v1.HealthListResponse;
import io.vertx.grpc.health.v1.HealthProto;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.Service;
import io.vertx.grpc.server.StatusException;

/**
 * The standard {@code grpc.health.v1.Health}: the server as a whole ({@code ""}, which generic
 * probes ask) and every service it serves are {@code SERVING} exactly when {@code /health/ready}
 * says ready, and {@code NOT_SERVING} otherwise, so that every way of asking gets one answer.
 * (Vert.x's own health service answers {@code SERVING} for {@code ""} whatever happens.)
 * {@code Watch} sends the status, then every change of it.
 */
final class HealthEndpoint implements Service {

  static final ServiceName NAME = ServiceName.create("grpc.health.v1.Health");
  private static final Descriptors.ServiceDescriptor DESCRIPTOR = HealthProto.getDescriptor().findServiceByName("Health");
  private static final ServiceMethod<HealthCheckRequest, HealthCheckResponse> CHECK = ServiceMethod.server(NAME, "Check",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthCheckRequest.newBuilder()));
  private static final ServiceMethod<HealthCheckRequest, HealthCheckResponse> WATCH = ServiceMethod.server(NAME, "Watch",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthCheckRequest.newBuilder()));
  private static final ServiceMethod<HealthListRequest, HealthListResponse> LIST = ServiceMethod.server(NAME, "List",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthListRequest.newBuilder()));
  /** How often a watched status is looked at for a change. */
  private static final long WATCH_EVERY_MS = 200;

  private final Vertx vertx;
  private final Health health;
  private final Metrics metrics;
  private final UnaryService.Answers answers;
  private GrpcServer server;

  HealthEndpoint(Vertx vertx, Health health, Metrics metrics, UnaryService.Answers answers) {
    this.vertx = vertx;
    this.health = health;
    this.metrics = metrics;
    this.answers = answers;
  }

  @Override
  public ServiceName name() {
    return NAME;
  }

  @Override
  public Descriptors.ServiceDescriptor descriptor() {
    return DESCRIPTOR;
  }

  @Override
  public void bind(GrpcServer grpc) {
    this.server = grpc;
    new UnaryService(NAME, DESCRIPTOR, metrics, answers)
        .method(CHECK, HealthCheckRequest.parser(), (call, request) -> check(request.getService()))
        .method(LIST, HealthListRequest.parser(), (call, request) -> Future.succeededFuture(list()))
        .bind(grpc);
    grpc.callHandler(WATCH, this::watch);
  }

  /** The status of the server ({@code ""}) or of a service it serves; the same for all of them. */
  private Future<HealthCheckResponse> check(String service) {
    if (!known(service)) {
      return Future.failedFuture(new StatusException(GrpcStatus.NOT_FOUND, "no service named '" + service + "' is served here"));
    }
    return Future.succeededFuture(HealthCheckResponse.newBuilder().setStatus(status()).build());
  }

  private HealthListResponse list() {
    HealthListResponse.Builder list = HealthListResponse.newBuilder();
    HealthCheckResponse current = HealthCheckResponse.newBuilder().setStatus(status()).build();
    list.putStatuses("", current);
    server.services().forEach(service -> list.putStatuses(service.name().fullyQualifiedName(), current));
    return list.build();
  }

  private void watch(GrpcServerRequest<HealthCheckRequest, HealthCheckResponse> call) {
    call.handler(request -> {
      ServingStatus[] last = {known(request.getService()) ? status() : ServingStatus.SERVICE_UNKNOWN};
      call.response().write(HealthCheckResponse.newBuilder().setStatus(last[0]).build());
      if (last[0] == ServingStatus.SERVICE_UNKNOWN) {
        return;
      }
      long timer = vertx.setPeriodic(WATCH_EVERY_MS, tick -> {
        ServingStatus now = status();
        if (now != last[0]) {
          last[0] = now;
          call.response().write(HealthCheckResponse.newBuilder().setStatus(now).build());
        }
      });
      call.connection().closeHandler(closed -> vertx.cancelTimer(timer));
      call.exceptionHandler(ended -> vertx.cancelTimer(timer));
      // A watcher that resets its stream (a cancelled call) is told through this handler only.
      call.errorHandler(gone -> vertx.cancelTimer(timer));
      call.response().exceptionHandler(ended -> vertx.cancelTimer(timer));
    });
  }

  private boolean known(String service) {
    return service.isEmpty() || server.services().stream().anyMatch(s -> s.name().fullyQualifiedName().equals(service));
  }

  private ServingStatus status() {
    return health.ready() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }
}
