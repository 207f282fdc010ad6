package io.sluice.grpc;

import io.sluice.limiter.CheckFailure;
import io.sluice.telemetry.Health;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.http.HttpConnection;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.StatusException;

import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Whether a call that decides checks (Check, CheckBatch, Envoy's ShouldRateLimit) may start: not
 * while draining ({@code UNAVAILABLE}, so that clients retry on another instance), not beyond
 * {@code maxChecksInFlight} ({@code RESOURCE_EXHAUSTED}); and by when it must be answered. A
 * call admitted counts as in flight until its answer is ready. A call from a light connection (a
 * backend with a call or two in flight, not one flooding the instance) still gets in up to a
 * quarter past the limit: the limit is spent by whoever sends most, and the others keep being decided.
 */
public final class Admission {

  /** Refused while draining, so that clients retry on another instance. */
  private static final StatusException SHUTTING_DOWN =
      new StatusException(GrpcStatus.UNAVAILABLE, "sluice is shutting down; retry on another instance");

  /** A call let in: when it arrived, and when Redis must have answered for the caller to hear in time. */
  public record Admitted(long receivedNanos, long deadlineNanos) {
  }

  private final Health health;
  private final Metrics metrics;
  private final int maxChecksInFlight;
  private final int maxChecksInFlightOfLight;
  private final Predicate<HttpConnection> light;

  public Admission(Health health, Metrics metrics, int maxChecksInFlight, Predicate<HttpConnection> light) {
    this.health = health;
    this.metrics = metrics;
    this.maxChecksInFlight = maxChecksInFlight;
    this.maxChecksInFlightOfLight = maxChecksInFlight + Math.max(1, maxChecksInFlight / 4);
    this.light = light;
  }

  public <T> Future<T> run(GrpcServerRequest<?, ?> call, Function<Admitted, Future<T>> work) {
    long receivedNanos = System.nanoTime();
    if (!health.tryEnter()) {
      return Future.failedFuture(SHUTTING_DOWN);
    }
    int inFlight = health.inFlight();
    if (inFlight > maxChecksInFlight && (inFlight > maxChecksInFlightOfLight || !light.test(call.connection()))) {
      health.exit();
      metrics.shed("overload");
      return Future.failedFuture(CheckFailure.overload(maxChecksInFlight));
    }
    Future<T> answer;
    try {
      answer = work.apply(new Admitted(receivedNanos, callerDeadline(receivedNanos, call.timeout())));
    } catch (RuntimeException e) {
      answer = Future.failedFuture(e);
    }
    return answer.andThen(done -> health.exit());
  }

  /**
   * When to give up on Redis for a caller who waits {@code timeoutMs}: a tenth of it earlier (at
   * least 1 ms, at most 20 ms), so that the answer still crosses the network and the caller's own
   * stack in time.
   */
  static long callerDeadline(long receivedNanos, long timeoutMs) {
    if (timeoutMs <= 0) {
      return Long.MAX_VALUE;
    }
    long timeoutNanos = timeoutMs * 1_000_000L;
    long marginNanos = Math.max(1_000_000L, Math.min(20_000_000L, timeoutNanos / 10));
    return receivedNanos + timeoutNanos - marginNanos;
  }
}
