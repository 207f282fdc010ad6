package io.sluice.grpc;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.Code;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus;
import io.sluice.config.Settings;
import io.sluice.envoy.EnvoyFixedWindow;
import io.sluice.envoy.EnvoyRules;
import io.sluice.grpc.Admission;
import io.sluice.limiter.Decision;
import io.sluice.limiter.InvalidRequestException;
import io.sluice.limiter.Limiter;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.grpc.server.GrpcServerRequest;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * {@code envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit}, as Envoy, Istio, Contour and
 * Envoy Gateway call it. Each descriptor is matched against the rules (envoyproxy/ratelimit's
 * matching, {@link EnvoyRules#match}), limits replaced by another that applies are dropped, and the
 * rest are decided in Redis: a Sluice token bucket by default, or envoyproxy/ratelimit's fixed
 * window ({@code envoyAlgorithm}). All of a request's script calls leave in one write. Answers as
 * envoyproxy/ratelimit does: one status per descriptor in request order, OVER_LIMIT overall when
 * any descriptor is, optional RateLimit-* headers.
 */
public final class EnvoyEndpoint {

  /** The most descriptors one request may carry. */
  public static final int MAX_DESCRIPTORS = 100;
  /** envoyproxy/ratelimit's limit_remaining for an unlimited descriptor. */
  static final int UNLIMITED_REMAINING = -1;

  private final Limiter limiter;
  private final Supplier<EnvoyRules> rules;
  private final Admission admission;
  private final Metrics metrics;
  private final boolean fixedWindow;
  private final boolean responseHeaders;
  private final boolean shadowEverything;

  public EnvoyEndpoint(Limiter limiter, Supplier<EnvoyRules> rules, Admission admission, Metrics metrics, Settings settings) {
    this.limiter = limiter;
    this.rules = rules;
    this.admission = admission;
    this.metrics = metrics;
    this.fixedWindow = "fixed_window".equals(settings.envoy().algorithm());
    this.responseHeaders = settings.envoy().responseHeaders();
    this.shadowEverything = settings.shadow();
  }

  public Future<RateLimitResponse> shouldRateLimit(GrpcServerRequest<RateLimitRequest, RateLimitResponse> call, RateLimitRequest request) {
    try {
      validate(request);
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    EnvoyRules snapshot = rules.get();
    int count = request.getDescriptorsCount();
    EnvoyRules.Match[] matches = new EnvoyRules.Match[count];
    Set<String> replaced = new HashSet<>();
    for (int i = 0; i < count; i++) {
      matches[i] = snapshot.match(request.getDomain(), request.getDescriptors(i));
      if (matches[i] != null) {
        replaced.addAll(matches[i].limit().replaces());
      }
    }
    for (int i = 0; i < count; i++) {
      if (matches[i] != null && !matches[i].limit().name().isEmpty() && replaced.contains(matches[i].limit().name())) {
        matches[i] = null;
      }
    }
    return admission.run(call, admitted -> {
      List<Future<Decision>> decided = new ArrayList<>(count);
      limiter.inOneWrite(() -> {
        for (int i = 0; i < count; i++) {
          decided.add(decide(matches[i], hits(request, request.getDescriptors(i)), admitted.deadlineNanos()));
        }
      });
      return Future.all(decided).map(all -> {
        RateLimitResponse.Builder response = RateLimitResponse.newBuilder().setOverallCode(Code.OK);
        // The headers describe the descriptor closest to its limit: the one with the least left, or one over it.
        DescriptorStatus closest = null;
        long leastRemaining = 0xFFFF_FFFFL;
        for (int i = 0; i < count; i++) {
          DescriptorStatus status = status(matches[i], decided.get(i).result(), admitted.receivedNanos());
          response.addStatuses(status);
          if (status.hasCurrentLimit() && Integer.toUnsignedLong(status.getLimitRemaining()) < leastRemaining) {
            closest = status;
            leastRemaining = Integer.toUnsignedLong(status.getLimitRemaining());
          }
          if (status.getCode() == Code.OVER_LIMIT) {
            response.setOverallCode(Code.OVER_LIMIT);
            closest = status;
            leastRemaining = 0;
          }
        }
        if (responseHeaders && closest != null) {
          response.addResponseHeadersToAdd(header("RateLimit-Limit", Integer.toUnsignedString(closest.getCurrentLimit().getRequestsPerUnit())))
              .addResponseHeadersToAdd(header("RateLimit-Remaining", Integer.toUnsignedString(closest.getLimitRemaining())))
              .addResponseHeadersToAdd(header("RateLimit-Reset", Long.toString(closest.getDurationUntilReset().getSeconds())));
        }
        return response.build();
      });
    });
  }

  /** What a descriptor takes: its own hits_addend when set (0 looks without taking), else the request's, 0 meaning 1. */
  private static long hits(RateLimitRequest request, RateLimitDescriptor descriptor) {
    return descriptor.hasHitsAddend() ? descriptor.getHitsAddend().getValue() : Math.max(1, Integer.toUnsignedLong(request.getHitsAddend()));
  }

  /** Null when nothing limits the descriptor (no rule, unlimited, replaced): it is answered OK without Redis. */
  private Future<Decision> decide(EnvoyRules.Match match, long hits, long deadlineNanos) {
    if (match == null || match.limit().unlimited() || match.limit().requestsPerUnit() == 0) {
      return Future.succeededFuture(null);
    }
    EnvoyRules.Limit limit = match.limit();
    return fixedWindow
        ? limiter.count(new EnvoyFixedWindow(limit.unit().seconds), match.subject(), limit.rule(), hits, deadlineNanos)
        : limiter.checkSubject(match.subject(), limit.rule(), hits, deadlineNanos);
  }

  private DescriptorStatus status(EnvoyRules.Match match, Decision decision, long receivedNanos) {
    if (match == null) {
      return DescriptorStatus.newBuilder().setCode(Code.OK).build();
    }
    EnvoyRules.Limit limit = match.limit();
    if (limit.unlimited()) {
      return DescriptorStatus.newBuilder().setCode(Code.OK).setLimitRemaining(UNLIMITED_REMAINING).build();
    }
    DescriptorStatus.Builder status = DescriptorStatus.newBuilder().setCurrentLimit(limit.wire());
    if (decision == null) {
      // requests_per_unit 0: every request is over the limit, and no window or bucket ever frees one.
      boolean shadow = limit.shadow() || shadowEverything;
      metrics.envoyDescriptor(limit.path(), shadow ? "shadow_over_limit" : "over_limit");
      // As envoyproxy/ratelimit reports it: until the current window ends (unit - now % unit). Only a
      // hint, nothing is decided by it, so the instance's clock serves rather than a Redis round trip.
      long unit = limit.unit().seconds;
      long untilResetSeconds = unit - Math.floorMod(System.currentTimeMillis() / 1000, unit);
      return status.setCode(shadow ? Code.OK : Code.OVER_LIMIT).setDurationUntilReset(seconds(untilResetSeconds * 1000)).build();
    }
    metrics.decided(decision.rule(), decision.metricOutcome(), receivedNanos);
    if (limit.detailedMetric()) {
      metrics.envoyDescriptor(match.metricPath(), decision.blocks() ? "over_limit" : decision.shadowDecision() != null ? "shadow_over_limit" : "ok");
    }
    long untilResetMs = decision.outcome() == Decision.Outcome.BAN ? decision.retryAfterMs() : decision.resetAfterMs();
    return status.setCode(decision.blocks() ? Code.OVER_LIMIT : Code.OK)
        .setLimitRemaining((int) Math.min(0xFFFF_FFFFL, decision.remaining()))
        .setDurationUntilReset(seconds(untilResetMs))
        .build();
  }

  /** Whole seconds, rounded up, as envoyproxy/ratelimit reports durations. */
  private static Duration seconds(long ms) {
    return Duration.newBuilder().setSeconds((ms + 999) / 1000).build();
  }

  private static HeaderValue header(String name, String value) {
    return HeaderValue.newBuilder().setKey(name).setValue(value).build();
  }

  private static void validate(RateLimitRequest request) {
    if (request.getDomain().isEmpty()) {
      throw new InvalidRequestException("domain", "domain must not be empty");
    }
    if (request.getDescriptorsCount() == 0 || request.getDescriptorsCount() > MAX_DESCRIPTORS) {
      throw new InvalidRequestException("descriptors", "descriptors must hold 1 to " + MAX_DESCRIPTORS + " descriptors, was "
          + request.getDescriptorsCount());
    }
    for (int i = 0; i < request.getDescriptorsCount(); i++) {
      RateLimitDescriptor descriptor = request.getDescriptors(i);
      if (descriptor.getEntriesCount() == 0) {
        throw new InvalidRequestException("descriptors", "descriptors[" + i + "].entries must not be empty");
      }
      for (int j = 0; j < descriptor.getEntriesCount(); j++) {
        if (descriptor.getEntries(j).getKey().isEmpty()) {
          throw new InvalidRequestException("descriptors", "descriptors[" + i + "].entries[" + j + "].key must not be empty");
        }
      }
    }
  }
}
