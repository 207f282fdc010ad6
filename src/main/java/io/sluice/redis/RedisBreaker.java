package io.sluice.redis;

import io.vertx.circuitbreaker.CircuitBreaker;
import io.vertx.circuitbreaker.CircuitBreakerOptions;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The circuit breaker around one Redis node (vertx-circuit-breaker). After {@code maxFailures}
 * failures in a row (broken connections, a Redis that says it cannot serve), or at once when a
 * connection stalls (commands written, nothing back while the event loop ran), it opens, and
 * checks for that node are answered by the failure mode at once instead of waiting on a dead Redis.
 * Every {@code resetMs} it probes: a fresh connection that logs in and loads the Lua scripts. When
 * the probe succeeds it closes, so the scripts are in Redis before checks go back to it.
 *
 * <p>The hot path only reads a volatile flag; the Vert.x breaker hears about failures, and about a
 * success only after a failure, so a healthy Redis costs it nothing.
 */
public final class RedisBreaker {

  private static final Logger log = LoggerFactory.getLogger(RedisBreaker.class);

  /** As operators see it, in health and metrics; later states are worse. */
  public enum State {
    CLOSED, HALF_OPEN, OPEN;

    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final String node;
  private final CircuitBreaker breaker;
  private final Supplier<Future<Void>> probe;
  private final long resetMs;
  private final AtomicBoolean failedSinceSuccess = new AtomicBoolean();
  private volatile boolean closed = true;
  private volatile long openedAtNanos;
  private volatile State state = State.CLOSED;

  /**
   * @param probe opens a connection to the node, logs in and loads the scripts; completes when it could
   */
  RedisBreaker(Vertx vertx, String node, int maxFailures, long resetMs, Supplier<Future<Void>> probe) {
    this.node = node;
    this.probe = probe;
    this.resetMs = resetMs;
    Context context = vertx.getOrCreateContext();
    this.breaker = CircuitBreaker.create("redis " + node, vertx, new CircuitBreakerOptions()
            .setMaxFailures(maxFailures)
            .setTimeout(-1)
            .setResetTimeout(resetMs)
            .setFallbackOnFailure(false))
        .openHandler(opened -> changed(State.OPEN))
        .halfOpenHandler(halfOpen -> {
          changed(State.HALF_OPEN);
          // Out of the breaker's lock: the probe is the one call a half-open breaker lets through.
          context.runOnContext(v -> probeOnce());
        })
        .closeHandler(closedAgain -> changed(State.CLOSED));
  }

  private void probeOnce() {
    breaker.execute(probe);
  }

  private void changed(State next) {
    if (next == state) {
      return;
    }
    State previous = state;
    state = next;
    closed = next == State.CLOSED;
    if (next == State.OPEN) {
      openedAtNanos = System.nanoTime();
    }
    if (next == State.OPEN && previous == State.CLOSED) {
      log.warn("circuit breaker for redis {} opened: checks are answered by the failure mode without waiting; probing every {} ms",
          node, resetMs);
    } else if (next == State.CLOSED) {
      log.info("circuit breaker for redis {} closed: redis answers and the scripts are loaded", node);
    }
  }

  /** Whether checks may go to this node now: read on every check, so only a volatile read. */
  public boolean allowsRequests() {
    return closed;
  }

  public State state() {
    return state;
  }

  public String node() {
    return node;
  }

  /** A timeout or broken connection; counted only while closed (an open breaker already knows). */
  void failure(Throwable cause) {
    if (!closed) {
      return;
    }
    failedSinceSuccess.set(true);
    breaker.execute(attempt -> attempt.fail(cause));
  }

  /**
   * Evidence that needs no second opinion (written commands and nothing back while the event loop
   * ran): opens at once, so that the callers after this one do not each wait out a timeout.
   */
  void trip(Throwable cause) {
    if (!closed) {
      return;
    }
    log.warn("redis {} stalled: {}", node, cause.getMessage());
    breaker.open();
  }

  /** Redis answered: resets the failures counted so far, so that only failures in a row open the breaker. */
  void success() {
    if (failedSinceSuccess.get() && closed && failedSinceSuccess.compareAndSet(true, false)) {
      breaker.execute(attempt -> attempt.complete());
    }
  }

  /** When a caller should try again: the next probe while open, else one reset period. */
  public long retryAfterMs() {
    if (closed) {
      return resetMs;
    }
    long sinceOpenMs = (System.nanoTime() - openedAtNanos) / 1_000_000;
    return Math.max(1, resetMs - sinceOpenMs);
  }

  void close() {
    breaker.close();
  }
}
