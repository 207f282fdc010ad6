package io.sluice.grpc;

import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.RateLimiterService;
import io.sluice.limiter.Decision;
import io.sluice.limiter.Limiter;
import io.vertx.core.Future;

/** {@code sluice.v1.RateLimiter}: maps the wire messages to the {@link Limiter} and back. */
public final class RateLimiterEndpoint extends RateLimiterService {

  private final Limiter limiter;

  public RateLimiterEndpoint(Limiter limiter) {
    this.limiter = limiter;
  }

  @Override
  public Future<CheckResponse> check(CheckRequest request) {
    return limiter.check(request.getUserId(), request.getAction(), Integer.toUnsignedLong(request.getCost()))
        .map(RateLimiterEndpoint::toResponse)
        .recover(failure -> Future.failedFuture(GrpcErrors.toStatus(failure)));
  }

  static CheckResponse toResponse(Decision decision) {
    return CheckResponse.newBuilder()
        .setDecision(toWire(decision.outcome()))
        .setLimit(decision.limit())
        .setRemaining(decision.remaining())
        .setRetryAfterMs(decision.retryAfterMs())
        .setResetAfterMs(decision.resetAfterMs())
        .setRule(decision.rule())
        .setDegraded(decision.degraded())
        .setViolations(decision.violations())
        .setMaxViolations(decision.maxViolations())
        .setBanRemainingMs(decision.outcome() == Decision.Outcome.BAN || decision.shadowDecision() == Decision.Outcome.BAN
            ? decision.retryAfterMs() : 0)
        .setBanLevel(decision.banLevel())
        .setBanScope(decision.banScope())
        .setBanReason(decision.banReason())
        .setShadow(decision.shadowDecision() != null)
        .setShadowDecision(decision.shadowDecision() == null
            ? io.sluice.grpc.v1.Decision.DECISION_UNSPECIFIED
            : toWire(decision.shadowDecision()))
        .build();
  }

  private static io.sluice.grpc.v1.Decision toWire(Decision.Outcome outcome) {
    return switch (outcome) {
      case ALLOW -> io.sluice.grpc.v1.Decision.ALLOW;
      case DENY -> io.sluice.grpc.v1.Decision.DENY;
      case BAN -> io.sluice.grpc.v1.Decision.BAN;
    };
  }
}
