package io.sluice.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The metrics of one Sluice instance, and every metric name, defined in one place (the README
 * lists them). Labels are rules and outcomes, never user ids, so cardinality stays bounded.
 */
public final class Metrics {

  public static final String SHADOW_WOULD_BLOCK = "sluice_shadow_would_block";
  public static final String THROTTLE_FACTOR = "sluice_throttle_factor";

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

  public MeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition of every metric. */
  public String scrape() {
    return registry.scrape();
  }

  /** A request that shadow mode let through but enforcing would have blocked. */
  public void shadowWouldBlock(String rule, String decision) {
    Counter.builder(SHADOW_WOULD_BLOCK)
        .description("Requests that shadow mode allowed but enforcing would have denied or banned")
        .tag("rule", rule)
        .tag("decision", decision)
        .register(registry)
        .increment();
  }

  /** Registers the gauge of one throttle subject's factor; later calls for the same subject do nothing. */
  public void throttleFactor(String subject, io.sluice.throttle.ThrottleFactors factors) {
    if (registry.find(THROTTLE_FACTOR).tag("subject", subject).gauge() != null) {
      return;
    }
    io.micrometer.core.instrument.Gauge.builder(THROTTLE_FACTOR, factors, f -> f.all().getOrDefault(subject, 1.0))
        .description("The adaptive throttle factor in force (1 = not throttled)")
        .tag("subject", subject)
        .register(registry);
  }

  public double shadowWouldBlockCount(String rule, String decision) {
    Counter counter = registry.find(SHADOW_WOULD_BLOCK).tag("rule", rule).tag("decision", decision).counter();
    return counter == null ? 0 : counter.count();
  }
}
