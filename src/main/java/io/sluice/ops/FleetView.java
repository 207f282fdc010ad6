package io.sluice.ops;

import io.sluice.redis.AdminDeadline;
import io.sluice.redis.RedisKeys;
import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.HashMap;
import java.util.Map;

/**
 * The fleet as its heartbeats tell it: every live instance with the status it last announced
 * (version, limits digest, readiness, breaker, checks in flight), and whether it enforces the limits
 * most of the fleet does. Read from Redis, so any instance shows the same fleet.
 */
final class FleetView {

  /** What a status carries for {@link FleetDecisions}, not shown with the instance. */
  private static final java.util.List<String> DECISIONS_FIELDS = java.util.List.of("decisions", "decisionsAtMs", "topLimited", "topShadow");

  private FleetView() {
  }

  static Future<JsonObject> read(Redis redis, long timeoutMs) {
    // Two reads, not a transaction (which a Cluster client may refuse): a beat between them moves no instance.
    Future<Response> live = redis.send(Request.cmd(Command.ZRANGE).arg(RedisKeys.INSTANCES).arg(0).arg(-1));
    Future<Response> statuses = redis.send(Request.cmd(Command.HGETALL).arg(RedisKeys.INSTANCE_STATUS));
    Future<Response[]> read = Future.all(live, statuses).map(both -> new Response[] {live.result(), statuses.result()});
    return AdminDeadline.read(read, timeoutMs, "the fleet was not read").map(FleetView::toJson);
  }

  /** Each instance's status as {@code HGETALL} of {@link RedisKeys#INSTANCE_STATUS} gave it; one that is not JSON reads as empty. */
  static Map<String, JsonObject> statuses(Response statuses) {
    Map<String, JsonObject> statusOf = new HashMap<>();
    for (String id : statuses == null ? java.util.Set.<String>of() : statuses.getKeys()) {
      try {
        statusOf.put(id, new JsonObject(statuses.get(id).toString()));
      } catch (DecodeException | ClassCastException e) {
        statusOf.put(id, new JsonObject());
      }
    }
    return statusOf;
  }

  private static JsonObject toJson(Response[] read) {
    Response live = read[0];
    Map<String, JsonObject> statusOf = statuses(read[1]);
    JsonArray instances = new JsonArray();
    Map<String, Integer> digests = new HashMap<>();
    for (int i = 0; live != null && i < live.size(); i++) {
      String id = live.get(i).toString();
      JsonObject status = statusOf.getOrDefault(id, new JsonObject());
      JsonObject instance = new JsonObject().put("id", id);
      // What an instance says of itself never changes which instance it is; its decisions are the Decisions page's.
      status.forEach(field -> instance.getMap().putIfAbsent(field.getKey(), field.getValue()));
      DECISIONS_FIELDS.forEach(instance::remove);
      instances.add(instance);
      String digest = status.getString("limitsDigest", "");
      if (!digest.isEmpty()) {
        // An instance that says nothing of its limits (a build before statuses) counts toward no side.
        digests.merge(digest, 1, Integer::sum);
      }
    }
    // The limits most of the fleet enforces; an instance with others is shown as disagreeing.
    String common = digests.entrySet().stream().max(Map.Entry.<String, Integer>comparingByValue().thenComparing(Map.Entry.comparingByKey()))
        .map(Map.Entry::getKey).orElse("");
    for (int i = 0; i < instances.size(); i++) {
      JsonObject instance = instances.getJsonObject(i);
      String digest = instance.getString("limitsDigest", "");
      instance.put("agrees", digest.isEmpty() || common.equals(digest));
    }
    return new JsonObject().put("instances", instances).put("limitsDigests", digests.size());
  }
}
