package io.sluice.ops;

import io.micrometer.core.instrument.MeterRegistry;
import io.sluice.redis.AdminDeadline;
import io.sluice.redis.RedisKeys;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The fleet's decisions per rule and second, and its most refused users, for the console: summed
 * from what each live instance's heartbeat says of itself ({@code {sluice}:instance-status}: its
 * decision totals and its own most refused users), so they lag the instances by up to a heartbeat.
 * Read once a second, and only while someone looks: a console that asked within the last
 * {@link #WATCHED_MS} keeps the sampling going; then it stops, and the next look starts afresh.
 * Used on the ops verticle's event loop only.
 */
final class FleetDecisions {

  static final long WATCHED_MS = 10 * 60_000;
  private static final int TOP = 10;

  private final Redis redis;
  private final MeterRegistry registry;
  private final long timeoutMs;
  private DecisionRates rates;
  private long askedAtMs;
  private boolean reading;
  private Map<String, DecisionRates.Reading> lastReadings = Map.of();
  private JsonArray topLimited = new JsonArray();
  private JsonArray topShadow = new JsonArray();

  FleetDecisions(Redis redis, MeterRegistry registry, long timeoutMs) {
    this.redis = redis;
    this.registry = registry;
    this.timeoutMs = timeoutMs;
  }

  /** Once a second: a sample of the fleet while it is watched. A read still under way (a slow Redis) is not doubled. */
  void tick() {
    if (rates == null || reading) {
      return;
    }
    if (System.currentTimeMillis() - askedAtMs > WATCHED_MS) {
      rates = null;
      return;
    }
    reading = true;
    DecisionRates sampling = rates;
    AdminDeadline.read(redis.send(Request.cmd(Command.HGETALL).arg(RedisKeys.INSTANCE_STATUS)), Math.min(timeoutMs, 900),
        "the fleet's statuses were not read").onComplete(read -> {
          reading = false;
          if (read.succeeded()) {
            take(read.result());
          }
          // Unread, the fleet decided nothing this second as far as the charts can tell: they stay in step with time.
          sampling.sample(lastReadings);
        });
  }

  private void take(Response statuses) {
    Map<String, DecisionRates.Reading> readings = new HashMap<>();
    long now = System.currentTimeMillis();
    Map<String, Map<List<String>, Long>> tops = Map.of("topLimited", new HashMap<>(), "topShadow", new HashMap<>());
    for (Map.Entry<String, JsonObject> instance : FleetView.statuses(statuses).entrySet()) {
      String id = instance.getKey();
      JsonObject status = instance.getValue();
      if (status.getValue("decisions") instanceof JsonObject decisions) {
        // A status without its time (another build's) is taken as of now.
        long atMs = status.getValue("decisionsAtMs") instanceof Number at ? at.longValue() : now;
        readings.put(id, new DecisionRates.Reading(DecisionRates.totals(decisions), atMs));
      }
      tops.forEach((kind, merged) -> {
        if (status.getValue(kind) instanceof JsonArray top) {
          for (int i = 0; i < Math.min(top.size(), TOP); i++) {
            if (top.getValue(i) instanceof JsonObject entry && entry.getValue("refusals") instanceof Number refusals) {
              merged.merge(List.of(entry.getString("rule", ""), entry.getString("user", "")), refusals.longValue(), Long::sum);
            }
          }
        }
      });
    }
    lastReadings = readings;
    topLimited = top(tops.get("topLimited"));
    topShadow = top(tops.get("topShadow"));
  }

  private static JsonArray top(Map<List<String>, Long> merged) {
    List<Map.Entry<List<String>, Long>> entries = new ArrayList<>(merged.entrySet());
    entries.sort(Map.Entry.<List<String>, Long>comparingByValue().reversed());
    JsonArray top = new JsonArray();
    for (int i = 0; i < Math.min(TOP, entries.size()); i++) {
      top.add(new JsonObject().put("rule", entries.get(i).getKey().get(0)).put("user", entries.get(i).getKey().get(1))
          .put("refusals", entries.get(i).getValue()));
    }
    return top;
  }

  /** What the console shows; a first look starts the sampling, so its charts begin now. */
  JsonObject toJson() {
    askedAtMs = System.currentTimeMillis();
    if (rates == null) {
      rates = new DecisionRates(registry);
      lastReadings = Map.of();
      topLimited = new JsonArray();
      topShadow = new JsonArray();
    }
    return rates.toJson().put("scope", "fleet").put("instances", lastReadings.size()).put("topLimited", topLimited.copy())
        .put("topShadow", topShadow.copy());
  }
}
