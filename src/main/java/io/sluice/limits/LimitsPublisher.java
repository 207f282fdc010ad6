package io.sluice.limits;

import io.sluice.limiter.RedisKeys;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;


/**
 * Publishes a limits change durably: merges it into the overlay key and publishes it, both in one
 * MULTI guarded by WATCH, so an instance that misses the message still finds it in the key.
 */
public final class LimitsPublisher {

  private static final int ATTEMPTS = 10;

  private LimitsPublisher() {
  }

  /** @return how many instances received the message */
  public static Future<Long> publish(Redis redis, String message) {
    JsonObject parsed;
    try {
      parsed = new JsonObject(message);
      LimitsOverlay.merge(new JsonObject(), parsed, "message");
      LimitsParser.validateMessage(parsed, "message");
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    return redis.connect().compose(connection -> attempt(connection, parsed, ATTEMPTS).eventually(connection::close));
  }

  private static Future<Long> attempt(RedisConnection connection, JsonObject message, int attemptsLeft) {
    return connection.send(Request.cmd(Command.WATCH).arg(RedisKeys.LIMITS_KEY))
        .compose(watching -> connection.send(Request.cmd(Command.GET).arg(RedisKeys.LIMITS_KEY)))
        .compose(stored -> {
          JsonObject overlay = stored == null ? new JsonObject() : new JsonObject(stored.toString());
          String merged = LimitsOverlay.merge(overlay, message, "message").encode();
          return connection.send(Request.cmd(Command.MULTI))
              .compose(ok -> connection.send(Request.cmd(Command.SET).arg(RedisKeys.LIMITS_KEY).arg(merged)))
              .compose(queued -> connection.send(Request.cmd(Command.PUBLISH).arg(RedisKeys.LIMITS_CHANNEL).arg(message.encode())))
              .compose(queued -> connection.send(Request.cmd(Command.EXEC)));
        })
        .compose(exec -> {
          if (exec != null && exec.size() == 2) {
            return Future.succeededFuture(exec.get(1).toLong());
          }
          // Someone published in between: merge into their result instead.
          return attemptsLeft > 1
              ? attempt(connection, message, attemptsLeft - 1)
              : Future.failedFuture(new IllegalStateException("the limits key kept changing; nothing was published"));
        });
  }

}
