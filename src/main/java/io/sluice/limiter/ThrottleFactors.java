package io.sluice.limiter;

import java.util.Map;

/**
 * The fleet's throttle factors as this instance last read them from Redis: one for the whole
 * backend ({@link #BACKEND}) and optionally one per action. Read by every check, replaced whole by
 * the latency-monitor verticle.
 */
public final class ThrottleFactors {

  /** The subject of samples reported for the whole backend rather than one action. */
  public static final String BACKEND = "*";

  private volatile Map<String, Double> factors = Map.of();

  /** The factor for an adaptive rule of {@code action}: the backend's, or the action's own when that is lower. */
  public double factorFor(String action) {
    Map<String, Double> current = factors;
    if (current.isEmpty()) {
      return 1.0;
    }
    double backend = current.getOrDefault(BACKEND, 1.0);
    Double own = current.get(action);
    return own == null ? backend : Math.min(backend, own);
  }

  /** A subject's own factor, 1 when it has none: what its gauge shows. */
  public double of(String subject) {
    return factors.getOrDefault(subject, 1.0);
  }

  public Map<String, Double> all() {
    return factors;
  }

  public void replace(Map<String, Double> next) {
    factors = Map.copyOf(next);
  }
}
