package io.sluice.throttle;

import io.sluice.limiter.ThrottleFactors;
import io.sluice.redis.AdminDeadline;
import io.sluice.redis.RedisKeys;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The controller's state per subject as it is kept in Redis ({@code sluice:throttle:state}): written
 * by the leading instance each window, read back by a new leader to continue from, and read by
 * operators (admin APIs). One JSON shape, defined here only.
 */
public final class ThrottleReport {

  /**
   * One subject's state after the last window the controller evaluated.
   *
   * @param subject   {@link ThrottleFactors#BACKEND} or an action
   * @param updatedAt ISO-8601
   */
  public record Subject(String subject, double factor, double p95Ms, double targetMs, double baselineMs, int samples,
                        String reason, String updatedAt) {

    public JsonObject toJson() {
      return new JsonObject().put("subject", subject).put("factor", factor).put("p95Ms", p95Ms).put("targetMs", targetMs)
          .put("baselineMs", baselineMs).put("samples", samples).put("reason", reason).put("updatedAt", updatedAt);
    }
  }

  private ThrottleReport() {
  }

  /** A subject's state after a window, as stored. */
  static String encode(ThrottleController.State state, int samples, String updatedAt) {
    return new JsonObject()
        .put("factor", state.factor())
        .put("p95Ms", state.lastP95Ms())
        .put("targetMs", state.targetMs())
        .put("baselineMs", state.baselineMs())
        .put("slowWindows", state.slowWindows())
        .put("samples", samples)
        .put("reason", state.reason())
        .put("updatedAt", updatedAt)
        .encode();
  }

  /** The controller state stored for a subject, or the initial state when none is. */
  static ThrottleController.State state(String storedOrNull) {
    if (storedOrNull == null) {
      return ThrottleController.State.initial();
    }
    JsonObject json = new JsonObject(storedOrNull);
    return new ThrottleController.State(json.getDouble("factor", 1.0), json.getDouble("baselineMs", 0.0),
        json.getInteger("slowWindows", 0), json.getDouble("p95Ms", 0.0), json.getDouble("targetMs", 0.0),
        json.getString("reason", "restored"));
  }

  /** What operators see of the throttle: every subject evaluated, and the settings the fleet's controller runs with. */
  public record Report(List<Subject> subjects, JsonObject settings) {
  }

  /** The report, read within {@code timeoutMs} (adminTimeoutMs: an operator waits for it) or failed saying so. */
  public static Future<Report> report(Redis redis, long timeoutMs) {
    Future<List<Subject>> subjects = read(redis);
    Future<JsonObject> settings = settings(redis);
    return AdminDeadline.read(Future.all(subjects, settings).map(both -> new Report(subjects.result(), settings.result())), timeoutMs,
        "the throttle was not read");
  }

  /** The settings the fleet's controller runs with, as JSON; an empty object before any instance ran it. */
  private static Future<JsonObject> settings(Redis redis) {
    return redis.send(Request.cmd(Command.GET).arg(RedisKeys.THROTTLE_SETTINGS))
        .map(reply -> reply == null ? new JsonObject() : new JsonObject(reply.toString()));
  }

  /** Every subject that has been evaluated, by name. */
  private static Future<List<Subject>> read(Redis redis) {
    return redis.send(Request.cmd(Command.HGETALL).arg(RedisKeys.THROTTLE_STATE)).map(reply -> {
      List<Subject> subjects = new ArrayList<>();
      if (reply != null) {
        for (String subject : new TreeSet<>(reply.getKeys())) {
          JsonObject state = new JsonObject(reply.get(subject).toString());
          subjects.add(new Subject(subject, state.getDouble("factor", 1.0), state.getDouble("p95Ms", 0.0),
              state.getDouble("targetMs", 0.0), state.getDouble("baselineMs", 0.0), state.getInteger("samples", 0),
              state.getString("reason", ""), state.getString("updatedAt", "")));
        }
      }
      return subjects;
    });
  }
}
