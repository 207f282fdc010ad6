package io.sluice.ops;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The fleet's decisions per second, from each instance's totals as its heartbeats report them. */
class DecisionRatesTest {

  private final DecisionRates rates = new DecisionRates(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));

  @Test
  void eachSecondCountsWhatEachInstanceAddedNotWhatItHadBefore() {
    // allowed, denied, banned, degraded, shadowWouldBlock
    rates.sample(Map.of("a", Map.of("login", new long[] {100, 10, 0, 0, 0})));
    rates.sample(Map.of("a", Map.of("login", new long[] {105, 12, 0, 0, 0})));
    assertEquals(5, lastSecond("login", "allowed"));
    assertEquals(2, lastSecond("login", "denied"));

    // b joins with its past (not this second's); a starts a rule (counted whole); a's login did not move.
    rates.sample(Map.of("a", Map.of("login", new long[] {105, 12, 0, 0, 0}, "search", new long[] {3, 0, 0, 0, 0}),
        "b", Map.of("login", new long[] {5000, 0, 0, 0, 0})));
    assertEquals(0, lastSecond("login", "allowed"));
    assertEquals(3, lastSecond("search", "allowed"));

    // b restarted (its totals went down: all of them are new); a left, and is forgotten.
    rates.sample(Map.of("b", Map.of("login", new long[] {7, 1, 0, 0, 0})));
    assertEquals(7, lastSecond("login", "allowed"));
    assertEquals(1, lastSecond("login", "denied"));
    // a comes back: as a newcomer, its past is not this second's.
    rates.sample(Map.of("a", Map.of("login", new long[] {200, 12, 0, 0, 0}), "b", Map.of("login", new long[] {9, 1, 0, 0, 0})));
    assertEquals(2, lastSecond("login", "allowed"));
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

  private int lastSecond(String rule, String series) {
    JsonArray values = rates.toJson().getJsonObject("rules").getJsonObject(rule).getJsonArray(series);
    return values.getInteger(values.size() - 1);
  }
}
