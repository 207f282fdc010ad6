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

import java.util.List;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Operators' plans of users and their overrides: the tier stored for a user ({@code tier:{<user>}}),
 * which decides every check of the user that names no tier, and a user's own numbers for one
 * overridable rule until a time ({@code override:{<user>}:<rule>}, a hash that expires then), both
 * read by the check's own script call. The gRPC admin service, admin HTTP and the CLI call these, so
 * every way in behaves the same. A change is published on {@link RedisKeys#BANS_CHANNEL}, so that
 * every instance forgets the refusals it had cached for the user under the old numbers.
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

  /** The longest an override may hold. */
  public static final long MAX_OVERRIDE_SECONDS = 365L * 86_400;

  /** A user's override of a rule: {@code exists} false when none (the numbers then 0). */
  public record StoredOverride(String userId, String rule, boolean exists, long capacity, double refillPerSecond, long remainingMs) {

    public JsonObject toJson() {
      return new JsonObject().put("user", userId).put("rule", rule).put("exists", exists).put("capacity", capacity)
          .put("refillPerSecond", refillPerSecond).put("remainingMs", remainingMs);
    }
  }

  /**
   * Gives the user {@code capacity} and {@code refillPerSecond} for the action's rule until
   * {@code untilOrEmpty} (an ISO-8601 instant with its offset) or {@code seconds} from now: exactly
   * one of the two. The rule must be overridable.
   */
  public Future<StoredOverride> setOverride(String userId, String action, long capacity, double refillPerSecond, String untilOrEmpty,
                                            long seconds) {
    String rule;
    long untilMs;
    try {
      Limiter.requireName("user_id", userId);
      Limiter.requireName("action", action);
      rule = overridableRule(action);
      if (capacity < 1 || capacity > LimitsParser.MAX_CAPACITY) {
        throw new InvalidRequestException("capacity", "capacity must be from 1 to " + LimitsParser.MAX_CAPACITY + ", was "
            + Long.toUnsignedString(capacity));
      }
      if (!(refillPerSecond > 0) || refillPerSecond > LimitsParser.MAX_REFILL_PER_SECOND) {
        throw new InvalidRequestException("refill_per_second", "refill_per_second must be above 0 and at most "
            + (long) LimitsParser.MAX_REFILL_PER_SECOND + ", was " + refillPerSecond);
      }
      // As for a rule: a bucket that takes longer than ten years to refill is a mistake, and its
      // expiry would not fit the script's arithmetic.
      if (capacity / refillPerSecond > LimitsParser.MAX_REFILL_SECONDS) {
        throw new InvalidRequestException("refill_per_second", "refill_per_second must refill the bucket within ten years, so at least "
            + "capacity / " + (long) LimitsParser.MAX_REFILL_SECONDS + " = " + capacity / LimitsParser.MAX_REFILL_SECONDS + ", was "
            + refillPerSecond);
      }
      long nowMs = System.currentTimeMillis();
      if (untilOrEmpty.isEmpty() == (seconds == 0)) {
        throw new InvalidRequestException("until", "give exactly one of until (an ISO-8601 instant) and seconds");
      }
      if (untilOrEmpty.isEmpty()) {
        // Unsigned on the wire: a negative long is a number above 2^63.
        if (seconds < 1 || seconds > MAX_OVERRIDE_SECONDS) {
          throw new InvalidRequestException("seconds", "seconds must be from 1 to " + MAX_OVERRIDE_SECONDS + ", was "
              + Long.toUnsignedString(seconds));
        }
        untilMs = nowMs + seconds * 1000;
      } else {
        try {
          untilMs = java.time.OffsetDateTime.parse(untilOrEmpty).toInstant().toEpochMilli();
        } catch (java.time.format.DateTimeParseException e) {
          throw new InvalidRequestException("until", "until must be an ISO-8601 instant with its offset (2026-12-11T18:00:00+01:00), was '"
              + LimitsParser.printable(untilOrEmpty) + "'");
        }
        if (untilMs <= nowMs || untilMs > nowMs + MAX_OVERRIDE_SECONDS * 1000) {
          throw new InvalidRequestException("until", "until must be in the future and at most a year ahead, was " + untilOrEmpty);
        }
      }
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    String key = RedisKeys.override(userId, rule);
    List<Request> write = List.of(Request.cmd(Command.MULTI),
        Request.cmd(Command.DEL).arg(key),
        Request.cmd(Command.HSET).arg(key).arg("capacity").arg(capacity).arg("refill").arg(Double.toString(refillPerSecond)),
        // On Redis's clock: the override ends when Redis's time reaches it, on every instance alike.
        Request.cmd(Command.PEXPIREAT).arg(key).arg(untilMs),
        Request.cmd(Command.EXEC));
    return changeAll(userId, "the override of " + rule + " for " + userId, "check with `sluice override get --user " + userId
        + " --action " + action + "`", write)
        .compose(done -> getOverride(userId, action));
  }

  /** The user's override of the action's rule, as Redis holds it now. */
  public Future<StoredOverride> getOverride(String userId, String action) {
    String rule;
    try {
      Limiter.requireName("user_id", userId);
      Limiter.requireName("action", action);
      rule = limits.get().ruleFor(action).name();
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    String key = RedisKeys.override(userId, rule);
    String notRead = "the override of " + rule + " for " + userId + " could not be read";
    return AdminDeadline.read(redis.batch(List.of(Request.cmd(Command.HMGET).arg(key).arg("capacity").arg("refill"),
            Request.cmd(Command.PTTL).arg(key))), timeoutMs, notRead)
        .recover(failure -> Future.failedFuture(AdminDeadline.notDone(failure, notRead)))
        .map(read -> {
          Response numbers = read.get(0);
          long pttl = read.get(1).toLong();
          if (numbers.get(0) == null || numbers.get(1) == null || pttl < 0) {
            return new StoredOverride(userId, rule, false, 0, 0, 0);
          }
          return new StoredOverride(userId, rule, true, numbers.get(0).toLong(), Double.parseDouble(numbers.get(1).toString()), pttl);
        });
  }

  /** Ends the user's override of the action's rule now. */
  public Future<StoredOverride> clearOverride(String userId, String action) {
    String rule;
    try {
      Limiter.requireName("user_id", userId);
      Limiter.requireName("action", action);
      rule = limits.get().ruleFor(action).name();
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    return changeAll(userId, "the removal of the override of " + rule + " for " + userId, "check with `sluice override get --user "
        + userId + " --action " + action + "`", List.of(Request.cmd(Command.DEL).arg(RedisKeys.override(userId, rule))))
        .map(done -> new StoredOverride(userId, rule, false, 0, 0, 0));
  }

  /** The action's rule, when users may be given numbers of their own for it. */
  private String overridableRule(String action) {
    io.sluice.limits.Rule rule = limits.get().ruleFor(action);
    if (!rule.overridable()) {
      throw new InvalidRequestException("action", "rule '" + rule.name() + "' (of action '" + LimitsParser.printable(action)
          + "') takes no overrides: give it \"overridable\": true in the limits (its checks then read the user's override in Redis)");
    }
    return rule.name();
  }

  private StoredTier storedTier(String userId, String tier) {
    return new StoredTier(userId, tier, !tier.isEmpty() && limits.get().tiers().containsKey(tier));
  }

  private Future<Response> change(String userId, String effect, Request write) {
    return changeAll(userId, effect, "check with `sluice tier get --user " + userId + "`", List.of(write));
  }

  /**
   * The writes, then the notice that makes every instance forget the user's cached refusals (after
   * the writes: a later check reads the new numbers).
   */
  private Future<Response> changeAll(String userId, String effect, String checkIt, List<Request> writes) {
    Request notice = Request.cmd(Command.PUBLISH).arg(RedisKeys.BANS_CHANNEL).arg(TierNotice.of(userId));
    long acceptedNanos = System.nanoTime();
    return order.inTurn(vertx.getOrCreateContext(), userId, turn -> AdminDeadline.writeInTurn(vertx, redis, timeoutMs, acceptedNanos, turn,
            effect, checkIt,
            // The writes touch one user's key (one slot); the notice goes on its own, as it has no key.
            connection -> connection.batch(writes).compose(written -> connection.send(notice))))
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
