package io.sluice.telemetry;

import io.sluice.config.FailureMode;
import io.sluice.redis.RedisBreaker;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Whether this instance should get traffic, and the gate that lets checks in. Ready when it serves
 * (every event loop listens with its Redis connections open), the limits are loaded, it is not
 * draining, and either Redis can decide (it answers, the Lua scripts are loaded,
 * the circuit breaker is not open) or the default failure mode answers without it ({@code open} or
 * {@code local}): an outage of the Redis every instance shares must not empty the load balancer,
 * while with {@code closed} an instance that cannot reach Redis would only refuse everything.
 * Once draining (SIGTERM), readiness is false and new checks are refused, while those already in
 * flight finish. Shared by every verticle of the process.
 */
public final class Health {

  private static final Logger log = LoggerFactory.getLogger(Health.class);

  private final FailureMode defaultFailureMode;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile Supplier<RedisBreaker.State> breaker = () -> RedisBreaker.State.CLOSED;
  private volatile boolean redisAnswering;
  private volatile boolean scriptsLoaded;
  private volatile boolean limitsLoaded;
  private volatile boolean serving;
  private volatile boolean draining;
  private volatile boolean lastReady;
  private static final int STARTING = 0;
  private static final int LISTENING = 1;
  private static final int ABANDONED = 2;
  private final AtomicInteger startState = new AtomicInteger(STARTING);
  private final java.util.concurrent.atomic.AtomicBoolean stopRequested = new java.util.concurrent.atomic.AtomicBoolean();
  private final java.util.Set<Runnable> stopActions = java.util.concurrent.ConcurrentHashMap.newKeySet();

  public Health(FailureMode defaultFailureMode) {
    this.defaultFailureMode = defaultFailureMode;
  }

  public boolean ready() {
    return !draining && serving && limitsLoaded && (redisDecides() || defaultFailureMode != FailureMode.CLOSED);
  }

  /** Whether checks are decided by Redis now, rather than by the failure mode. */
  public boolean redisDecides() {
    return redisAnswering && scriptsLoaded && breaker.get() != RedisBreaker.State.OPEN;
  }

  /** The worst circuit breaker state over the Redis nodes. */
  public void breakerState(Supplier<RedisBreaker.State> worst) {
    this.breaker = worst;
  }

  /** Where the readiness check stands, for {@code /health/ready}: Redis and the breaker are shown apart. */
  public JsonObject toJson() {
    return new JsonObject()
        .put("ready", ready())
        .put("redis", redisAnswering)
        .put("scripts", scriptsLoaded)
        .put("breaker", breaker.get().label())
        .put("failureMode", defaultFailureMode.wireName())
        .put("limits", limitsLoaded)
        .put("serving", serving)
        .put("draining", draining)
        .put("inFlight", inFlight.get());
  }

  public void redis(boolean answering, boolean scripts) {
    redisAnswering = answering;
    scriptsLoaded = scripts;
    noteChange();
  }

  public void limitsLoaded() {
    limitsLoaded = true;
    noteChange();
  }

  /**
   * The gRPC port listens, on every event loop, each with its Redis connections open, logged in and
   * loaded with the scripts: before this an instance is never ready, whatever else holds.
   */
  public void serving() {
    serving = true;
    noteChange();
  }

  /** Lets a check in, unless draining; every check let in must {@link #exit()}. */
  public boolean tryEnter() {
    if (draining) {
      return false;
    }
    inFlight.incrementAndGet();
    // A drain that began between the test and the increment must still see this check, and does:
    // it waits for inFlight to reach 0.
    return true;
  }

  public void exit() {
    inFlight.decrementAndGet();
  }

  public int inFlight() {
    return inFlight.get();
  }

  public void startDraining() {
    draining = true;
    noteChange();
  }

  /**
   * A stop was asked for (SIGTERM, Ctrl-C). A start that no gRPC event loop has begun to listen
   * for gives up rather than wait out {@code redisStartupTimeoutMs} or the warm-up: nothing was
   * served, so there is nothing to drain, and an orchestrator stopping a pod whose Redis is away
   * would otherwise wait for the timeout, or kill it. Once one loop listens, the start finishes and
   * the instance drains as always.
   */
  public void stopRequested() {
    if (stopRequested.compareAndSet(false, true)) {
      abandonStart();
      for (Runnable action : stopActions) {
        // Removed first: the one that removes it runs it, here or in onStopRequested, exactly once.
        if (stopActions.remove(action)) {
          try {
            action.run();
          } catch (RuntimeException closedMeanwhile) {
            // An event loop already closed (the start failed meanwhile): that wait is over anyway.
          }
        }
      }
    }
  }

  public boolean stopWasRequested() {
    return stopRequested.get();
  }

  /**
   * Runs {@code action} once a stop is asked for (on the thread that asks), at once if one was.
   *
   * @return forgets it: a wait that ended must not keep what it holds reachable
   */
  public Runnable onStopRequested(Runnable action) {
    stopActions.add(action);
    if (stopRequested.get() && stopActions.remove(action)) {
      action.run();
    }
    return () -> stopActions.remove(action);
  }

  /**
   * Called by a gRPC event loop about to listen: whether it may (the start was not given up for a
   * stop). From the first loop's yes, the start is no longer given up.
   */
  public boolean mayListen() {
    if (stopRequested.get()) {
      abandonStart();
    }
    startState.compareAndSet(STARTING, LISTENING);
    return startState.get() == LISTENING;
  }

  /** Whether the start is given up for a stop: only while no gRPC event loop listens. */
  public boolean abandonStart() {
    startState.compareAndSet(STARTING, ABANDONED);
    return startState.get() == ABANDONED;
  }

  /**
   * {@code wait}, unless a stop is asked for first while no gRPC event loop listens: then it fails at
   * once, on {@code context}, with {@link StoppedBeforeReady}.
   *
   * @param where what the start was doing, for the log: "while waiting for redis ..."
   */
  public <T> Future<T> unlessStopped(Context context, Future<T> wait, String where) {
    Promise<T> outcome = Promise.promise();
    wait.onComplete(outcome::tryComplete, outcome::tryFail);
    Runnable forget = onStopRequested(() -> context.runOnContext(now -> {
      if (abandonStart()) {
        outcome.tryFail(new StoppedBeforeReady(where));
      }
    }));
    return outcome.future().andThen(done -> forget.run());
  }

  /** How a start given up for {@link #stopRequested()} fails. */
  public static final class StoppedBeforeReady extends IllegalStateException {
    /** @param where what the start was doing */
    public StoppedBeforeReady(String where) {
      super("stopped before ready, " + where);
    }
  }

  private synchronized void noteChange() {
    boolean now = ready();
    if (now != lastReady) {
      lastReady = now;
      if (now) {
        log.info("ready: {}", toJson().encode());
      } else {
        log.warn("not ready: {}", toJson().encode());
      }
    }
  }
}
