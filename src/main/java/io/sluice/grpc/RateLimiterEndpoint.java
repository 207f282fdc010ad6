package io.sluice.grpc;

import io.sluice.grpc.v1.AdjustRequest;
import io.sluice.grpc.v1.AdjustResponse;
import io.sluice.grpc.v1.CheckBatchRequest;
import io.sluice.grpc.v1.CheckBatchResponse;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.AcquireRequest;
import io.sluice.grpc.v1.AcquireResponse;
import io.sluice.grpc.v1.ReleaseRequest;
import io.sluice.grpc.v1.ReleaseResponse;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.limiter.Decision;
import io.sluice.grpc.v1.ReportLatencyRequest;
import io.sluice.grpc.v1.ReportLatencyResponse;
import io.sluice.limiter.CheckFailure;
import io.sluice.limiter.InvalidRequestException;
import io.sluice.limiter.Limiter;
import io.sluice.limiter.ThrottleFactors;
import io.sluice.limits.Limits;
import io.sluice.telemetry.Logs;
import io.sluice.telemetry.Metrics;
import io.sluice.throttle.LatencySamples;
import io.vertx.redis.client.Redis;
import io.vertx.core.Future;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.StatusException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** {@code sluice.v1.RateLimiter}: maps the wire messages to the {@link Limiter} and back. */
public final class RateLimiterEndpoint {

  private static final Logger requestLog = LoggerFactory.getLogger(Logs.REQUEST_LOGGER);

  private final Limiter limiter;
  private final Redis redis;
  private final ThrottleFactors throttle;
  private final Metrics metrics;
  private final Admission admission;
  private final Supplier<Limits> limits;

  public RateLimiterEndpoint(Limiter limiter, Redis redis, ThrottleFactors throttle, Metrics metrics, Admission admission,
                             Supplier<Limits> limits) {
    this.limits = limits;
    this.limiter = limiter;
    this.redis = redis;
    this.throttle = throttle;
    this.metrics = metrics;
    this.admission = admission;
  }

  /**
   * Latency for the whole backend (empty action) or for an action that has a rule: a subject nothing
   * can throttle is refused, so that reporters cannot grow Redis state without bound.
   */
  public Future<ReportLatencyResponse> reportLatency(ReportLatencyRequest request) {
    String subject = request.getAction().isEmpty() ? ThrottleFactors.BACKEND : request.getAction();
    if (!request.getAction().isEmpty()) {
      try {
        Limiter.requireName("action", request.getAction());
        if (!limits.get().rules().containsKey(request.getAction())) {
          throw new InvalidRequestException("action", "action must name a rule, or be empty for the whole backend; there is no rule '"
              + request.getAction() + "'");
        }
      } catch (InvalidRequestException e) {
        return Future.failedFuture(e);
      }
    }
    return LatencySamples.record(redis, subject, request.getLatencyMsList())
        .map(recorded -> ReportLatencyResponse.newBuilder().setFactor(throttle.factorFor(request.getAction())).build());
  }

  /**
   * {@code RateLimiter/Check}, with the call at hand so that the caller's deadline ({@code grpc-timeout})
   * is known: a check is answered before it, with a decision or with an error status.
   */
  Future<CheckResponse> check(GrpcServerRequest<CheckRequest, CheckResponse> call, CheckRequest request) {
    return admission.run(call, admitted -> limiter.check(requestOf(request), admitted.deadlineNanos())
        .map(decision -> {
          metrics.decided(decision.rule(), decision.metricOutcome(), admitted.receivedNanos());
          metrics.refused(decision.rule(), decision.limitedBy());
          metrics.refusedUser(decision.rule(), decision.metricOutcome(), request.getUserId());
          if (requestLog.isDebugEnabled()) {
            requestLog.debug("check user={} action={} cost={} -> {}", request.getUserId(), request.getAction(), request.getCost(),
                decision);
          }
          return toResponse(decision, request.getTier());
        }));
  }

  /**
   * {@code RateLimiter/CheckBatch}: the checks decided together, answered in request order, with the
   * batch's decision (the most severe one). Counts as one call in flight.
   */
  Future<CheckBatchResponse> checkBatch(GrpcServerRequest<CheckBatchRequest, CheckBatchResponse> call, CheckBatchRequest request) {
    List<Limiter.Request> checks = new ArrayList<>(request.getChecksCount());
    for (CheckRequest check : request.getChecksList()) {
      checks.add(requestOf(check));
    }
    return admission.run(call, admitted -> limiter.checkBatch(checks, request.getAllOrNothing(), admitted.deadlineNanos())
        .map(outcome -> {
          CheckBatchResponse.Builder response = CheckBatchResponse.newBuilder();
          Decision.Outcome worst = Decision.Outcome.ALLOW;
          for (int i = 0; i < outcome.decisions().size(); i++) {
            Decision decision = outcome.decisions().get(i);
            metrics.decided(decision.rule(), decision.metricOutcome(), admitted.receivedNanos());
            metrics.refused(decision.rule(), decision.limitedBy());
            metrics.refusedUser(decision.rule(), decision.metricOutcome(), request.getChecks(i).getUserId());
            if (decision.outcome().ordinal() > worst.ordinal()) {
              worst = decision.outcome();
            }
            CheckResponse answer = toResponse(decision, checks.get(i).tier());
            if (outcome.givenBack()[i]) {
              CheckResponse.Builder givenBack = answer.toBuilder().setGivenBack(true)
                  .setRemaining(Math.min(decision.limit(), decision.remaining() + checks.get(i).tokens()));
              if (decision.quota() != null) {
                givenBack.setQuotaRemaining(Math.min(decision.quota().limit(), decision.quota().remaining() + checks.get(i).tokens()));
              }
              answer = givenBack.build();
            }
            response.addResults(answer);
          }
          return response.setDecision(toWire(worst)).build();
        }));
  }

  /** {@code RateLimiter/Acquire}: one of the user's slots of the rule's concurrency limit, or its refusal. */
  Future<AcquireResponse> acquire(GrpcServerRequest<AcquireRequest, AcquireResponse> call, AcquireRequest request) {
    return admission.run(call, admitted -> limiter.leases().acquire(request.getUserId(), request.getAction(), request.getTier(),
            admitted.deadlineNanos())
        .map(lease -> {
          metrics.refused(lease.rule(), lease.limitedBy());
          return AcquireResponse.newBuilder()
            .setDecision(toWire(lease.outcome()))
            .setLeaseId(lease.leaseId())
            .setLeaseMs(lease.leaseMs())
            .setRetryAfterMs(lease.retryAfterMs())
            .setInFlight((int) lease.inFlight())
            .setMaxInFlight(lease.maxInFlight())
            .setRule(lease.rule())
            .setLimitedBy(lease.limitedBy())
            .setDegraded(lease.degraded())
            .setDegradedReason(lease.degraded() ? lease.degradedReason() : "")
            .setShadow(lease.shadow())
            .setTier(request.getTier().isEmpty() ? lease.storedTier() : request.getTier())
            .build();
        }));
  }

  /** {@code RateLimiter/Adjust}: a settled cost, taken or given back. */
  Future<AdjustResponse> adjust(GrpcServerRequest<AdjustRequest, AdjustResponse> call, AdjustRequest request) {
    return admission.run(call, admitted -> limiter.adjustments().adjust(request.getUserId(), request.getAction(), request.getDelta(),
            request.getAdjustmentId(), request.getTier(), admitted.deadlineNanos())
        .map(adjusted -> {
          AdjustResponse.Builder response = AdjustResponse.newBuilder().setApplied(adjusted.applied()).setRemaining(adjusted.remaining())
              .setRule(adjusted.rule()).setDegraded(adjusted.degradedReason() != null)
              .setDegradedReason(adjusted.degradedReason() == null ? "" : adjusted.degradedReason())
              .setTier(request.getTier().isEmpty() ? adjusted.storedTier() : request.getTier()).setOverridden(adjusted.overridden());
          if (adjusted.quotaRemaining() != null) {
            response.setHasQuota(true).setQuotaRemaining(adjusted.quotaRemaining());
          }
          return response.build();
        }));
  }

  /** {@code RateLimiter/Release}: the lease's slot is free at once. */
  Future<ReleaseResponse> release(GrpcServerRequest<ReleaseRequest, ReleaseResponse> call, ReleaseRequest request) {
    return admission.run(call, admitted -> limiter.leases().release(request.getLeaseId(), admitted.deadlineNanos())
        .map(released -> ReleaseResponse.newBuilder().setReleased(released.released()).setDegraded(released.degraded()).build()));
  }

  private static Limiter.Request requestOf(CheckRequest check) {
    return new Limiter.Request(check.getUserId(), check.getAction(), Integer.toUnsignedLong(check.getCost()), check.getTier(),
        check.getAcquire());
  }

  /** The answer to a check on {@code tier} (empty for none), which it names; else the tier stored for the user that decided. */
  static CheckResponse toResponse(Decision decision, String tier) {
    CheckResponse.Builder response = CheckResponse.newBuilder();
    if (decision.quota() != null) {
      response.setQuotaLimit(decision.quota().limit()).setQuotaRemaining(decision.quota().remaining())
          .setQuotaResetAfterMs(decision.quota().resetAfterMs());
    }
    if (decision.lease() != null) {
      response.setLeaseId(decision.lease().leaseId()).setLeaseMs(decision.lease().leaseMs())
          .setInFlight((int) decision.lease().inFlight()).setMaxInFlight(decision.lease().maxInFlight());
    }
    return response
        .setLimitedBy(decision.limitedBy())
        .setTier(tier.isEmpty() ? decision.tier() : tier)
        .setOverridden(decision.overridden())
        .setDecision(toWire(decision.outcome()))
        .setLimit(decision.limit())
        .setRefillPerSecond(decision.refillPerSecond())
        .setRemaining(decision.remaining())
        .setRetryAfterMs(decision.retryAfterMs())
        .setResetAfterMs(decision.resetAfterMs())
        .setRule(decision.rule())
        .setDegraded(decision.degraded())
        .setDegradedReason(decision.degraded() ? decision.degradedReason() : "")
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
