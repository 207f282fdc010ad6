package io.sluice.grpc;

import io.sluice.security.AdminTokens;
import io.sluice.security.BearerToken;
import io.sluice.security.FailedLogins;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;

/**
 * Who may call what on the gRPC port, decided before gRPC reads a byte of the call: the Admin
 * service needs an admin token, ReportLatency the report token when one is set. Checks, health and
 * reflection are open to whoever reaches the port (TLS and client certificates decide that). A
 * refusal is a gRPC {@code UNAUTHENTICATED}, counted in {@code sluice_unauthenticated_total}. Wrong
 * admin tokens count toward ten a minute per peer address, as over HTTP ({@link FailedLogins}, a
 * count of the gRPC port's own): past them the address is answered {@code RESOURCE_EXHAUSTED} until
 * its minute is over, whatever token it shows, so a token cannot be guessed at speed over gRPC either.
 */
final class AccessGuard implements Handler<HttpServerRequest> {

  static final String ADMIN_PATH = "/sluice.v1.Admin/";
  static final String REPORT_PATH = "/sluice.v1.RateLimiter/ReportLatency";

  private final GrpcServer grpc;
  private final AdminTokens admin;
  private final BearerToken report;
  private final Metrics metrics;
  private final FailedLogins failedLogins;

  /**
   * @param admin  null when the Admin service is not served at all (no admin token set)
   * @param report null when reports need no token
   */
  AccessGuard(GrpcServer grpc, AdminTokens admin, BearerToken report, Metrics metrics, FailedLogins failedLogins) {
    this.grpc = grpc;
    this.admin = admin;
    this.report = report;
    this.metrics = metrics;
    this.failedLogins = failedLogins;
  }

  @Override
  public void handle(HttpServerRequest request) {
    String path = request.path();
    if (admin != null && path.startsWith(ADMIN_PATH)) {
      if (admitted(request)) {
        serve(request);
      }
    } else if (report != null && path.equals(REPORT_PATH) && !report.accepts(request.getHeader("authorization"))) {
      refuse(request, "grpc-report", GrpcStatus.UNAUTHENTICATED, "ReportLatency needs 'authorization: Bearer <reportToken>'");
    } else {
      serve(request);
    }
  }

  private void serve(HttpServerRequest request) {
    if (!request.headers().contains("grpc-encoding")) {
      // "identity" is what no header means. Said out loud, it lets a frame flagged as compressed
      // reach UnaryService (which refuses it) instead of failing inside Vert.x's deframer,
      // which leaves the call unanswered.
      request.headers().set("grpc-encoding", "identity");
    }
    grpc.handle(request);
  }

  /** Whether an Admin call shows a token that opens it, from an address not held back for guessing; refused if not. */
  private boolean admitted(HttpServerRequest request) {
    io.vertx.core.net.SocketAddress peer = request.remoteAddress();
    String client = failedLogins.clientOf(peer == null ? "" : peer.hostAddress(), null);
    long now = System.nanoTime();
    long retryAfterMs = failedLogins.retryAfterMs(client, now);
    if (retryAfterMs > 0) {
      request.response().putHeader("grpc-retry-pushback-ms", String.valueOf(retryAfterMs));
      refuse(request, "grpc-admin-guessing", GrpcStatus.RESOURCE_EXHAUSTED, FailedLogins.tooManyWrongTokens(retryAfterMs));
      return false;
    }
    String authorization = request.getHeader("authorization");
    if (admin.actorOf(authorization) != null) {
      return true;
    }
    if (authorization != null && !authorization.isBlank()) {
      // A token shown that opens nothing is a guess; no header at all is a probe, not one.
      failedLogins.failed(client, now);
    }
    refuse(request, "grpc-admin", GrpcStatus.UNAUTHENTICATED, "the Admin service needs 'authorization: Bearer <adminToken>'");
    return false;
  }

  /** A trailers-only gRPC answer: the status in the one HEADERS frame, and no message. */
  private void refuse(HttpServerRequest request, String api, GrpcStatus status, String message) {
    metrics.unauthenticated(api);
    request.response()
        .setStatusCode(200)
        .putHeader("content-type", "application/grpc")
        .putHeader("grpc-status", String.valueOf(status.code))
        // Printable ASCII without '%' needs no percent-encoding in grpc-message.
        .putHeader("grpc-message", message)
        .end();
  }
}
