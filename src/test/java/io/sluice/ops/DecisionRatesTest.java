package io.sluice.ops;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The fleet's decisions per second, from each instance's totals as its heartbeats report them. */
class DecisionRatesTest {

  private final DecisionRates rates = new DecisionRates(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));

  @Test
  void eachSecondCountsWhatEachInstanceAddedNotWhatItHadBefore() {
    // allowed, denied, banned, degraded, shadowWouldBlock
    rates.sample(Map.of("a", reading(1_000, "login", 100, 10)));
    rates.sample(Map.of("a", reading(2_000, "login", 105, 12)));
    assertEquals(5, lastSecond("login", "allowed"));
    assertEquals(2, lastSecond("login", "denied"));

    // b joins with its past (not this second's); a starts a rule (counted whole); a's login did not move.
    rates.sample(Map.of("a", new DecisionRates.Reading(Map.of("login", new long[] {105, 12, 0, 0, 0}, "search", new long[] {3, 0, 0, 0, 0}), 3_000),
        "b", reading(3_000, "login", 5000, 0)));
    assertEquals(0, lastSecond("login", "allowed"));
    assertEquals(3, lastSecond("search", "allowed"));

    // b's totals went down (an instance that kept its id and started again): all of them are new; a left, and is forgotten.
    rates.sample(Map.of("b", reading(4_000, "login", 7, 1)));
    assertEquals(7, lastSecond("login", "allowed"));
    assertEquals(1, lastSecond("login", "denied"));
    // a comes back: as a newcomer, its past is not this second's.
    rates.sample(Map.of("a", reading(5_000, "login", 200, 12), "b", reading(5_000, "login", 9, 1)));
    assertEquals(2, lastSecond("login", "allowed"));
  }

  @Test
  void aSteadyLoadReadABeatLateOrTwiceInABeatStaysSteady() {
    rates.sample(Map.of("a", reading(0, "login", 0, 0)));
    // 10 a second. The second beat is missed by the next sample (the same reading again), then two come at once.
    rates.sample(Map.of("a", reading(1_000, "login", 10, 0)));
    rates.sample(Map.of("a", reading(1_000, "login", 10, 0)));
    rates.sample(Map.of("a", reading(3_000, "login", 30, 0)));
    assertEquals(List.of(10, 10, 10), lastSeconds("login", "allowed", 3));
    // Heard from again after three samples without news, 11 more: over those four seconds, the remainder in the latest.
    rates.sample(Map.of("a", reading(3_000, "login", 30, 0)));
    rates.sample(Map.of("a", reading(3_000, "login", 30, 0)));
    rates.sample(Map.of("a", reading(3_000, "login", 30, 0)));
    rates.sample(Map.of("a", reading(7_000, "login", 41, 0)));
    assertEquals(List.of(10, 2, 2, 2, 5), lastSeconds("login", "allowed", 5));
  }

  @Test
  void totalsWrittenByAnotherBuildOrMangledCountForWhatTheyHold() {
    JsonObject written = new JsonObject().put("login", new JsonArray().add(4).add(1)).put("odd", "not counts")
        .put("more", new JsonArray().add(1).add(2).add(3).add(4).add(5).add(6)).put("text", new JsonArray().add("x"));
    Map<String, long[]> totals = DecisionRates.totals(written);
    assertEquals(3, totals.size());
    assertEquals(4, totals.get("login")[0]);
    assertEquals(0, totals.get("login")[2]);
    assertEquals(5, totals.get("more")[4]);
    assertEquals(0, totals.get("text")[0]);
  }

  private static DecisionRates.Reading reading(long atMs, String rule, long allowed, long denied) {
    return new DecisionRates.Reading(Map.of(rule, new long[] {allowed, denied, 0, 0, 0}), atMs);
  }

  private int lastSecond(String rule, String series) {
    return lastSeconds(rule, series, 1).get(0);
  }

  private List<Integer> lastSeconds(String rule, String series, int count) {
    JsonArray values = rates.toJson().getJsonObject("rules").getJsonObject(rule).getJsonArray(series);
    return values.getList().subList(values.size() - count, values.size()).stream().map(value -> ((Number) value).intValue()).toList();
  }
}
