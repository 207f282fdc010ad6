package io.sluice.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.telemetry.Metrics;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * This instance's decisions per rule and second over the last minutes, and the throttle factor per
 * subject, for the console's charts: sampled once a second from the counters Prometheus scrapes, so
 * the check path pays nothing for them. Bounded: {@link #SECONDS} samples of at most {@link #MAX_RULES}
 * rules and {@link #MAX_SUBJECTS} throttle subjects. Used on the ops verticle's event loop only.
 */
final class DecisionRates {

  static final int SECONDS = 300;
  static final int MAX_RULES = 200;
  static final int MAX_SUBJECTS = 50;
  /** The console's series: each a sum of outcomes of {@code sluice_decisions_total}. */
  static final Map<String, List<String>> SERIES = new LinkedHashMap<>();

  static {
    SERIES.put("allowed", List.of("allow"));
    SERIES.put("denied", List.of("deny"));
    SERIES.put("banned", List.of("ban"));
    SERIES.put("degraded", List.of("degraded_allow", "degraded_deny"));
    SERIES.put("shadowWouldBlock", List.of("shadow_would_deny", "shadow_would_ban"));
  }

  private final MeterRegistry registry;
  /** Per rule: the counts of each series per second, a ring of SECONDS. */
  private final Map<String, int[][]> rules = new LinkedHashMap<>();
  private final Map<String, double[]> factors = new LinkedHashMap<>();
  /** Each counter's value at the last sample, by rule and outcome. */
  private final Map<String, Double> last = new HashMap<>();
  private int at;
  private long sampledAtMs;
  private boolean sampled;

  DecisionRates(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Takes this second's sample. */
  void sample() {
    at = (at + 1) % SECONDS;
    sampledAtMs = System.currentTimeMillis();
    for (int[][] series : rules.values()) {
      for (int[] counts : series) {
        counts[at] = 0;
      }
    }
    List<String> names = List.copyOf(SERIES.keySet());
    for (Counter counter : registry.find(Metrics.DECISIONS).counters()) {
      String rule = counter.getId().getTag("rule");
      String outcome = counter.getId().getTag("outcome");
      String key = rule + '\u0000' + outcome;
      double now = counter.count();
      Double before = last.put(key, now);
      // Counted before the first sample is history, not this second's; a counter new since the last one counts whole.
      double from = before != null ? before : sampled ? 0 : now;
      int delta = (int) Math.min(Integer.MAX_VALUE, Math.max(0, now - from));
      int[][] series = rules.get(rule);
      if (series == null) {
        if (rules.size() >= MAX_RULES) {
          continue;
        }
        series = new int[names.size()][SECONDS];
        rules.put(rule, series);
      }
      for (int s = 0; s < names.size(); s++) {
        if (SERIES.get(names.get(s)).contains(outcome)) {
          series[s][at] += delta;
        }
      }
    }
    for (Gauge gauge : registry.find(Metrics.THROTTLE_FACTOR).gauges()) {
      String subject = gauge.getId().getTag("subject");
      double[] values = factors.get(subject);
      if (values == null) {
        if (factors.size() >= MAX_SUBJECTS) {
          continue;
        }
        values = new double[SECONDS];
        java.util.Arrays.fill(values, Double.NaN);
        factors.put(subject, values);
      }
      values[at] = gauge.value();
    }
    sampled = true;
  }

  /** The last SECONDS seconds, oldest first, ending at the last sample. */
  JsonObject toJson() {
    JsonObject byRule = new JsonObject();
    List<String> names = List.copyOf(SERIES.keySet());
    rules.forEach((rule, series) -> {
      JsonObject json = new JsonObject();
      for (int s = 0; s < names.size(); s++) {
        JsonArray values = new JsonArray();
        for (int i = 1; i <= SECONDS; i++) {
          values.add(series[s][(at + i) % SECONDS]);
        }
        json.put(names.get(s), values);
      }
      byRule.put(rule, json);
    });
    JsonObject bySubject = new JsonObject();
    factors.forEach((subject, values) -> {
      JsonArray json = new JsonArray();
      for (int i = 1; i <= SECONDS; i++) {
        double value = values[(at + i) % SECONDS];
        json.add(Double.isNaN(value) ? null : value);
      }
      bySubject.put(subject, json);
    });
    return new JsonObject().put("seconds", SECONDS).put("endMs", sampledAtMs).put("rules", byRule).put("throttle", bySubject);
  }
}
