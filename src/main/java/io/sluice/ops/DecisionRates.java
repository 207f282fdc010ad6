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
 * Decisions per rule and second over the last minutes, and the throttle factor per subject, for the
 * console's charts: of this instance, sampled once a second from the counters Prometheus scrapes, so
 * the check path pays nothing for them; or of the fleet, sampled from the totals each instance's
 * heartbeat writes to its status. Bounded: {@link #SECONDS} samples of at most {@link #MAX_RULES}
 * rules and {@link #MAX_SUBJECTS} throttle subjects. Used on the ops verticle's event loop only.
 */
public final class DecisionRates {

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

  private static final List<String> NAMES = List.copyOf(SERIES.keySet());

  private final MeterRegistry registry;
  /** Per rule: the counts of each series per second, a ring of SECONDS. */
  private final Map<String, int[][]> rules = new LinkedHashMap<>();
  private final Map<String, double[]> factors = new LinkedHashMap<>();
  /** The longest stretch (samples, seconds) one reading's counts are spread over: a source heard from after a gap. */
  static final int MAX_SPREAD = 60;

  /** A source's totals by rule, as they were at {@code atMs} by its own clock: a new time is a new reading. */
  record Reading(Map<String, long[]> totals, long atMs) {
  }

  /** A source's last reading, and the sample that counted it. */
  private record Counted(Reading reading, long sample) {
  }

  /**
   * Each source's last reading (one source, "", for this instance; one per live instance for the
   * fleet). A source that is gone is forgotten; one new since then brings its past, not this second's.
   */
  private final Map<String, Counted> last = new HashMap<>();
  private long samples;
  private int at;
  private long sampledAtMs;

  DecisionRates(MeterRegistry registry) {
    this.registry = registry;
  }

  /**
   * This instance's totals: for each rule (at most {@link #MAX_RULES}), each series' count since the
   * instance started, in the order of {@link #SERIES}. What its heartbeat tells the fleet.
   */
  public static Map<String, long[]> totals(MeterRegistry registry) {
    // Sorted, so that past MAX_RULES the same rules are kept from one second to the next.
    Map<String, long[]> totals = new java.util.TreeMap<>();
    for (Counter counter : registry.find(Metrics.DECISIONS).counters().stream()
        .sorted(java.util.Comparator.comparing(counter -> counter.getId().getTag("rule"))).toList()) {
      String rule = counter.getId().getTag("rule");
      String outcome = counter.getId().getTag("outcome");
      long[] of = totals.get(rule);
      if (of == null) {
        if (totals.size() >= MAX_RULES) {
          continue;
        }
        of = new long[NAMES.size()];
        totals.put(rule, of);
      }
      for (int s = 0; s < NAMES.size(); s++) {
        if (SERIES.get(NAMES.get(s)).contains(outcome)) {
          of[s] += (long) counter.count();
        }
      }
    }
    return totals;
  }

  /** The same as JSON: {@code {rule: [allowed, denied, banned, degraded, shadowWouldBlock]}}. */
  public static JsonObject totalsJson(MeterRegistry registry) {
    JsonObject json = new JsonObject();
    totals(registry).forEach((rule, counts) -> {
      JsonArray values = new JsonArray();
      for (long count : counts) {
        values.add(count);
      }
      json.put(rule, values);
    });
    return json;
  }

  /** Reads totals written by {@link #totalsJson} (another build's may hold other shapes: what is not a count is skipped). */
  static Map<String, long[]> totals(JsonObject json) {
    Map<String, long[]> totals = new LinkedHashMap<>();
    for (String rule : json.fieldNames()) {
      if (totals.size() >= MAX_RULES || !(json.getValue(rule) instanceof JsonArray values)) {
        continue;
      }
      long[] counts = new long[NAMES.size()];
      for (int s = 0; s < Math.min(counts.length, values.size()); s++) {
        counts[s] = values.getValue(s) instanceof Number number ? number.longValue() : 0;
      }
      totals.put(rule, counts);
    }
    return totals;
  }

  /** Takes this second's sample of this instance's own counters. */
  void sample() {
    sample(Map.of("", new Reading(totals(registry), System.currentTimeMillis())));
  }

  /**
   * Takes this second's sample of the totals of each source (for the fleet: each instance's, as its
   * heartbeat last said). What a source added since its last reading is spread over the samples
   * taken since, so that a reading that comes a beat late (none in one second, two in the next) does
   * not chart a steady load as 0 and then twice as much. A total that went down counts whole.
   */
  void sample(Map<String, Reading> readings) {
    boolean first = sampledAtMs == 0;
    samples++;
    at = (at + 1) % SECONDS;
    sampledAtMs = System.currentTimeMillis();
    for (int[][] series : rules.values()) {
      for (int[] counts : series) {
        counts[at] = 0;
      }
    }
    readings.forEach((source, reading) -> {
      Counted earlier = last.get(source);
      if (earlier != null && earlier.reading().atMs() == reading.atMs()) {
        // Nothing new from this source since the last sample.
        return;
      }
      last.put(source, new Counted(reading, samples));
      if (earlier == null && !first) {
        return;
      }
      Map<String, long[]> before = earlier == null ? null : earlier.reading().totals();
      int seconds = earlier == null ? 1 : (int) Math.min(MAX_SPREAD, samples - earlier.sample());
      reading.totals().forEach((rule, counts) -> {
        int[][] series = rules.get(rule);
        if (series == null) {
          if (rules.size() >= MAX_RULES) {
            return;
          }
          series = new int[NAMES.size()][SECONDS];
          rules.put(rule, series);
        }
        // A rule new to its source since the last sample counts whole (a counter is made at its first decision).
        long[] from = before == null ? counts : before.getOrDefault(rule, new long[counts.length]);
        for (int s = 0; s < Math.min(counts.length, NAMES.size()); s++) {
          long was = s < from.length && from[s] <= counts[s] ? from[s] : 0;
          long added = counts[s] - was;
          for (int back = 0; back < seconds; back++) {
            // The remainder in the latest second, so that the spread adds up to what was added.
            long share = added / seconds + (back == 0 ? added % seconds : 0);
            int slot = Math.floorMod(at - back, SECONDS);
            series[s][slot] = (int) Math.min(Integer.MAX_VALUE, series[s][slot] + share);
          }
        }
      });
    });
    last.keySet().retainAll(readings.keySet());
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
  }

  /** The last SECONDS seconds, oldest first, ending at the last sample. */
  JsonObject toJson() {
    JsonObject byRule = new JsonObject();
    rules.forEach((rule, series) -> {
      JsonObject json = new JsonObject();
      for (int s = 0; s < NAMES.size(); s++) {
        JsonArray values = new JsonArray();
        for (int i = 1; i <= SECONDS; i++) {
          values.add(series[s][(at + i) % SECONDS]);
        }
        json.put(NAMES.get(s), values);
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
