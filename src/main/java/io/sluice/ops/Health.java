package io.sluice.ops;

import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Whether this instance should get traffic, and the gate that lets checks in: ready when Redis
 * answers, the Lua scripts are loaded and the limits are loaded, and not draining. Once draining
 * (SIGTERM), readiness is false and new checks are refused, while those already in flight finish.
 * Shared by every verticle of the process.
 */
public final class Health {

  private static final Logger log = LoggerFactory.getLogger(Health.class);

  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicBoolean checksReachRedis = new AtomicBoolean(true);
  private volatile boolean redisAnswering;
  private volatile boolean scriptsLoaded;
  private volatile boolean limitsLoaded;
  private volatile boolean draining;
  private volatile boolean lastReady;

  public boolean ready() {
    return !draining && redisAnswering && scriptsLoaded && limitsLoaded;
  }

  /** Where the readiness check stands, for {@code /health/ready}. */
  public JsonObject toJson() {
    return new JsonObject()
        .put("ready", ready())
        .put("redis", redisAnswering)
        .put("scripts", scriptsLoaded)
        .put("limits", limitsLoaded)
        .put("draining", draining)
        .put("inFlight", inFlight.get());
  }

  public void redis(boolean answering, boolean scripts) {
    redisAnswering = answering;
    scriptsLoaded = scripts;
    noteChange();
  }

  /**
   * Records whether the last check reached Redis. True only for the call that changed it, so that
   * the change is logged once per process, whichever event loop noticed it first.
   */
  public boolean checksReachRedis(boolean answered) {
    return checksReachRedis.compareAndSet(!answered, answered);
  }

  public void limitsLoaded() {
    limitsLoaded = true;
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

  private synchronized void noteChange() {
    boolean now = ready();
    if (now != lastReady) {
      lastReady = now;
      if (now) {
        log.info("ready: redis answers, scripts and limits are loaded");
      } else {
        log.warn("not ready: {}", toJson().encode());
      }
    }
  }
}
