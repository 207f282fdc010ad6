package io.sluice.limiter;

import io.vertx.core.json.JsonObject;

/**
 * An active ban, as operators see it.
 *
 * @param actionOrEmpty empty for a ban of every action
 * @param level         0 for a manual ban
 */
public record BanInfo(String userId, String actionOrEmpty, String scope, long remainingMs, String reason, int level, int violations) {

  public JsonObject toJson() {
    return new JsonObject().put("user", userId).put("action", actionOrEmpty).put("scope", scope)
        .put("remainingMs", remainingMs).put("reason", reason).put("level", level).put("violations", violations);
  }
}
