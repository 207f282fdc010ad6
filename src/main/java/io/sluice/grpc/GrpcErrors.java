package io.sluice.grpc;

import io.sluice.limiter.CheckFailure;
import io.sluice.redis.AdminDeadline;
import io.sluice.limiter.InvalidRequestException;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.UUID;

/**
 * Maps every failure that leaves a gRPC endpoint to a status, in one place. Internal errors never
 * show their details to the caller: the answer carries an id, and the log line with the details
 * carries the same id.
 */
final class GrpcErrors {

  private static final Logger log = LoggerFactory.getLogger(GrpcErrors.class);

  private GrpcErrors() {
  }

  /** Shed unmade because this instance is too busy: the caller may retry, after the pushback. */
  static boolean isShed(Throwable failure) {
    return failure instanceof CheckFailure check && check.kind() == CheckFailure.Kind.OVERLOAD;
  }

  static StatusException toStatus(Throwable failure) {
    if (failure instanceof StatusException status) {
      return status;
    }
    if (failure instanceof InvalidRequestException invalid) {
      return new StatusException(GrpcStatus.INVALID_ARGUMENT, invalid.getMessage());
    }
    if (failure instanceof AdminDeadline.Unfinished unfinished) {
      return new StatusException(GrpcStatus.UNAVAILABLE, unfinished.getMessage());
    }
    if (failure instanceof CheckFailure check) {
      return switch (check.kind()) {
        case DEADLINE -> new StatusException(GrpcStatus.DEADLINE_EXCEEDED, check.getMessage());
        case OVERLOAD -> new StatusException(GrpcStatus.RESOURCE_EXHAUSTED, check.getMessage());
        // The fault was logged with its details under this id already.
        case FAULT -> new StatusException(GrpcStatus.INTERNAL, check.getMessage());
      };
    }
    String id = UUID.randomUUID().toString().substring(0, 8);
    log.error("unexpected failure in a gRPC call (error id {})", id, failure);
    return new StatusException(GrpcStatus.INTERNAL, "internal error (error id " + id + ")");
  }
}
