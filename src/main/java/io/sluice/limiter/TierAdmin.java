package io.sluice.limiter;

import io.sluice.limits.Limits;
import io.sluice.limits.LimitsParser;
import io.sluice.redis.AdminDeadline;
import io.sluice.redis.RedisKeys;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Operators' plans of users: the tier stored for a user ({@code tier:{<user>}}), which decides every
 * check of the user that names no tier, read by the check's own script call. The gRPC admin service,
 * admin HTTP and the CLI call these, so every way in behaves the same. A change is published on
 * {@link RedisKeys#BANS_CHANNEL}, so that every instance forgets the refusals it had cached for the
 * user under the old plan.
 */
public final class TierAdmin {

  private final Vertx vertx;
  private final Redis redis;
  private final long timeoutMs;
  private final Supplier<Limits> limits;
  private final DenyCache localRefusals;
  private final SubjectOrder order;

  public TierAdmin(Vertx vertx, Redis redis, long timeoutMs, Supplier<Limits> limits, DenyCache localRefusals, SubjectOrder order) {
    this.vertx = vertx;
    this.redis = redis;
    this.timeoutMs = timeoutMs;
    this.limits = limits;
    this.localRefusals = localRefusals;
    this.order = order;
  }

  /**
   * A user's stored plan: {@code tier} empty for none; {@code inForce} whether the limits in force
   * have that tier (a stored tier they no longer have decides nothing: the rules do).
   */
  public record StoredTier(String userId, String tier, boolean inForce) {

    public JsonObject toJson() {
      return new JsonObject().put("user", userId).put("tier", tier).put("inForce", inForce);
    }
  }

  /** The tier stored for the user, empty for none. */
  public Future<StoredTier> get(String userId) {
    try {
      Limiter.requireName("user_id", userId);
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    String notRead = "the tier of " + userId + " could not be read";
    return AdminDeadline.read(redis.send(Request.cmd(Command.GET).arg(RedisKeys.tier(userId))), timeoutMs, notRead)
        .recover(failure -> Future.failedFuture(AdminDeadline.notDone(failure, notRead)))
        .map(stored -> storedTier(userId, stored == null ? "" : stored.toString()));
  }

  /** Stores {@code tier} (a tier of the limits in force) as the user's plan. */
  public Future<StoredTier> set(String userId, String tier) {
    try {
      Limiter.requireName("user_id", userId);
      if (tier.isEmpty()) {
        throw new InvalidRequestException("tier", "tier must name a tier (to remove the user's, clear it)");
      }
      if (!limits.get().tiers().containsKey(tier)) {
        Limiter.requireName("tier", tier);
        throw new InvalidRequestException("tier", "tier '" + LimitsParser.printable(tier) + "' is not a tier of the limits in force ("
            + (limits.get().tiers().isEmpty() ? "they have none" : "tiers: " + String.join(", ", new TreeSet<>(limits.get().tiers().keySet())))
            + ")");
      }
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    return change(userId, "the tier " + tier + " of " + userId, Request.cmd(Command.SET).arg(RedisKeys.tier(userId)).arg(tier))
        .map(done -> storedTier(userId, tier));
  }

  /** Removes the user's stored plan: the rules decide again, or the tier a request names. */
  public Future<StoredTier> clear(String userId) {
    try {
      Limiter.requireName("user_id", userId);
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    return change(userId, "the removal of the tier of " + userId, Request.cmd(Command.DEL).arg(RedisKeys.tier(userId)))
        .map(done -> storedTier(userId, ""));
  }

  private StoredTier storedTier(String userId, String tier) {
    return new StoredTier(userId, tier, !tier.isEmpty() && limits.get().tiers().containsKey(tier));
  }

  /** The write, then the notice that makes every instance forget the user's cached refusals (after the write: a later check reads the new plan). */
  private Future<Response> change(String userId, String effect, Request write) {
    Request notice = Request.cmd(Command.PUBLISH).arg(RedisKeys.BANS_CHANNEL).arg(TierNotice.of(userId));
    long acceptedNanos = System.nanoTime();
    return order.inTurn(vertx.getOrCreateContext(), userId, turn -> AdminDeadline.writeInTurn(vertx, redis, timeoutMs, acceptedNanos, turn,
            effect, "check with `sluice tier get --user " + userId + "`",
            // The write touches one user's key (one slot); the notice goes on its own, as it has no key.
            connection -> connection.send(write).compose(written -> connection.send(notice))))
        .onSuccess(done -> localRefusals.forgetUser(userId));
  }

  /** The notice of a changed plan on the bans channel. */
  public record TierNotice(String userId) {

    static String of(String userId) {
      return new JsonObject().put("type", "tier").put("user", userId).encode();
    }

    /** @return null when the message is not a notice of a changed plan */
    public static TierNotice parse(String message) {
      JsonObject notice = new JsonObject(message);
      return "tier".equals(notice.getString("type")) ? new TierNotice(notice.getString("user", "")) : null;
    }
  }
}
