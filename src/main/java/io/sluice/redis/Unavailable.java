package io.sluice.redis;

import java.util.Locale;

/**
 * Why Redis could not decide a check: the only reasons a check is answered by its rule's failure
 * mode (degraded). Each is Redis being unavailable, never Sluice being busy.
 */
public enum Unavailable {
  /** The node's circuit breaker is open: Redis failed repeatedly and was not asked. */
  BREAKER_OPEN,
  /** No connection to the node is up (it is reconnecting). */
  DISCONNECTED,
  /** Redis did not answer within {@code redisTimeoutMs}. */
  TIMEOUT,
  /** The node answered READONLY: it is no longer the master; the client reconnects to the new one. */
  FAILOVER,
  /** Redis answered that it cannot serve now (LOADING, BUSY, OOM, MASTERDOWN, CLUSTERDOWN, TRYAGAIN). */
  REDIS_BUSY;

  /** The {@code reason} label of the degraded-decision metric, and what a response says. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
