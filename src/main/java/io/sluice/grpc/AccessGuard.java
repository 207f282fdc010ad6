package io.sluice.grpc;

import io.sluice.security.AdminTokens;
import io.sluice.security.BearerToken;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;

/**
 * Who may call what on the gRPC port, decided before gRPC reads a byte of the call: the Admin
 * service needs an admin token, ReportLatency the report token when one is set. Checks, health and
 * reflection are open to whoever reaches the port (TLS and client certificates decide that). A
 * refusal is a gRPC {@code UNAUTHENTICATED}, counted in {@code sluice_unauthenticated_total}.
 */
final class AccessGuard implements Handler<HttpServerRequest> {

  static final String ADMIN_PATH = "/sluice.v1.Admin/";
  static final String REPORT_PATH = "/sluice.v1.RateLimiter/ReportLatency";

  private final GrpcServer grpc;
  private final AdminTokens admin;
  private final BearerToken report;
  private final Metrics metrics;

  /**
   * @param admin  null when the Admin service is not served at all (no admin token set)
   * @param report null when reports need no token
   */
  AccessGuard(GrpcServer grpc, AdminTokens admin, BearerToken report, Metrics metrics) {
    this.grpc = grpc;
    this.admin = admin;
    this.report = report;
    this.metrics = metrics;
  }

  @Override
  public void handle(HttpServerRequest request) {
    String path = request.path();
    if (admin != null && path.startsWith(ADMIN_PATH) && admin.actorOf(request.getHeader("authorization")) == null) {
      refuse(request, "grpc-admin", "the Admin service needs 'authorization: Bearer <adminToken>'");
    } else if (report != null && path.equals(REPORT_PATH) && !report.accepts(request.getHeader("authorization"))) {
      refuse(request, "grpc-report", "ReportLatency needs 'authorization: Bearer <reportToken>'");
    } else {
      if (!request.headers().contains("grpc-encoding")) {
        // "identity" is what no header means. Said out loud, it lets a frame flagged as compressed
        // reach UnaryService (which refuses it) instead of failing inside Vert.x's deframer,
        // which leaves the call unanswered.
        request.headers().set("grpc-encoding", "identity");
      }
      grpc.handle(request);
    }
  }

  /** A trailers-only gRPC answer: the status in the one HEADERS frame, and no message. */
  private void refuse(HttpServerRequest request, String api, String message) {
    metrics.unauthenticated(api);
    request.response()
        .setStatusCode(200)
        .putHeader("content-type", "application/grpc")
        .putHeader("grpc-status", String.valueOf(GrpcStatus.UNAUTHENTICATED.code))
        // Printable ASCII without '%' needs no percent-encoding in grpc-message.
        .putHeader("grpc-message", message)
        .end();
  }
}
