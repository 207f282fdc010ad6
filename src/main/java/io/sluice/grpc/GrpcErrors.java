package io.sluice.grpc;

import io.sluice.limiter.InvalidRequestException;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Maps every failure that leaves a gRPC endpoint to a status, in one place. */
final class GrpcErrors {

  private static final Logger log = LoggerFactory.getLogger(GrpcErrors.class);

  private GrpcErrors() {
  }

  static StatusException toStatus(Throwable failure) {
    if (failure instanceof StatusException status) {
      return status;
    }
    if (failure instanceof InvalidRequestException invalid) {
      return new StatusException(GrpcStatus.INVALID_ARGUMENT, invalid.getMessage());
    }
    log.error("unexpected failure in a gRPC call", failure);
    return new StatusException(GrpcStatus.INTERNAL, "internal error: " + failure);
  }
}
