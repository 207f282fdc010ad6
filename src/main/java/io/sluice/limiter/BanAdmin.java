package io.sluice.limiter;

import io.sluice.limits.Limits;
import io.sluice.redis.AdminDeadline;
import io.sluice.redis.LuaScript;
import io.sluice.redis.NodeClients;
import io.sluice.redis.RedisKeys;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Operators' ban operations: list, ban, unban. The gRPC admin service and the CLI call these, so
 * every way in behaves the same. An unban is published on {@link RedisKeys#BANS_CHANNEL} so that
 * every instance drops its cached copy.
 */
public final class BanAdmin {

  public static final long MAX_BAN_SECONDS = 365L * 86_400;
  public static final int MAX_REASON_BYTES = 512;
  public static final String DEFAULT_REASON = "manual ban";
  /** The rule label of operators' bans in metrics and logs. */
  public static final String MANUAL_RULE = "manual";
  private static final int SCAN_BATCH = 500;
  /** How long an unban waits for every instance to confirm it dropped its cached copy. */
  static final long UNBAN_CONFIRM_MS = 2_000;
  private static final long UNBAN_POLL_MS = 2;

  private final Vertx vertx;
  private final Redis redis;
  /** adminTimeoutMs: how long a ban or unban waits for Redis. */
  private final long timeoutMs;
  private final NodeClients nodes;
  private final LuaScript banScript;
  private final BanCache localCache;
  private final Metrics metrics;
  private final Supplier<Limits> limits;
  private final SubjectOrder order;

  /** @param nodes every master, for SCAN: in a Cluster, bans live on the master of each user's slot */
  public BanAdmin(Vertx vertx, Redis redis, long timeoutMs, NodeClients nodes, LuaScript banScript, BanCache localCache, Metrics metrics,
                  Supplier<Limits> limits, SubjectOrder order) {
    this.vertx = vertx;
    this.redis = redis;
    this.timeoutMs = timeoutMs;
    this.nodes = nodes;
    this.banScript = banScript;
    this.localCache = localCache;
    this.metrics = metrics;
    this.limits = limits;
    this.order = order;
  }

  /** How long an operator waits for Redis (adminTimeoutMs), for this and every other admin read or change. */
  public long timeoutMs() {
    return timeoutMs;
  }

  /**
   * What a ban of an action covers: the action's rule. Actions without a rule of their own share the
   * default rule's bucket, and so its bans: banning one of them bans them all.
   */
  private String subject(String identity, String actionOrEmpty) {
    if (actionOrEmpty.isEmpty() || RedisKeys.isEnvoySubject(identity)) {
      // An Envoy subject's bans are by its rule's name (envoy:<domain>.<key>...), which is given as the action.
      return actionOrEmpty;
    }
    return limits.get().ruleFor(actionOrEmpty).name();
  }

  /**
   * Refuses what is neither a valid user id nor the admin name of an Envoy subject ({@code envoy:}
   * and up to {@link RedisKeys#MAX_ENVOY_SUBJECT_BYTES} bytes), naming {@code user_id}.
   */
  private static void requireUser(String name) {
    if (name.startsWith(RedisKeys.ENVOY_NAME_PREFIX)) {
      Limiter.requireName("user_id", name.substring(RedisKeys.ENVOY_NAME_PREFIX.length()), RedisKeys.MAX_ENVOY_SUBJECT_BYTES);
    } else {
      Limiter.requireName("user_id", name);
    }
  }

  /** Active bans of one user, or of everyone when {@code userIdOrEmpty} is empty, longest first. */
  public Future<List<BanInfo>> list(String userIdOrEmpty) {
    if (!userIdOrEmpty.isEmpty()) {
      try {
        requireUser(userIdOrEmpty);
      } catch (InvalidRequestException e) {
        return Future.failedFuture(e);
      }
    }
    String identity = RedisKeys.identityNamed(userIdOrEmpty);
    String[] scanning = new String[1];
    Future<List<String>> keys = userIdOrEmpty.isEmpty()
        ? scan("ban:*", new ArrayList<>(), scanning)
        : scan(RedisKeys.userPattern("ban", identity), new ArrayList<>(List.of(RedisKeys.ban(identity, ""))), scanning);
    String notListed = "the bans " + (userIdOrEmpty.isEmpty() ? "" : "of " + userIdOrEmpty + " ") + "could not be listed";
    boolean severalMasters = nodes.masterNodes().size() > 1;
    // In a Cluster, which master kept the listing from finishing is what the operator needs to know.
    return AdminDeadline.read(keys.compose(this::describe), timeoutMs,
        () -> notListed + (scanning[0] != null && severalMasters ? " (the master at " + scanning[0] + " did not answer)" : ""))
        .recover(failure -> Future.failedFuture(AdminDeadline.notDone(failure, notListed)));
  }

  /** Bans a user from one action (its rule), or from every action when {@code actionOrEmpty} is empty. */
  public Future<BanInfo> ban(String userId, String actionOrEmpty, long durationSeconds, String reasonOrEmpty) {
    String reason = reasonOrEmpty.isEmpty() ? DEFAULT_REASON : reasonOrEmpty;
    try {
      requireUser(userId);
      if (!actionOrEmpty.isEmpty()) {
        Limiter.requireName("action", actionOrEmpty);
      }
      if (durationSeconds < 1 || durationSeconds > MAX_BAN_SECONDS) {
        throw new InvalidRequestException("duration_seconds",
            "duration_seconds must be from 1 to " + MAX_BAN_SECONDS + ", was " + Long.toUnsignedString(durationSeconds));
      }
      if (reason.getBytes(StandardCharsets.UTF_8).length > MAX_REASON_BYTES) {
        throw new InvalidRequestException("reason", "reason must be at most " + MAX_REASON_BYTES + " bytes");
      }
      if (reason.chars().anyMatch(c -> Character.isISOControl(c) || c == '\u2028' || c == '\u2029')) {
        throw new InvalidRequestException("reason", "reason must not contain control characters or line separators");
      }
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    String identity = RedisKeys.identityNamed(userId);
    String subject = subject(identity, actionOrEmpty);
    String scope = subject.isEmpty() ? "user" : "action";
    long durationMs = durationSeconds * 1000;
    String effect = "the ban of " + userId + (subject.isEmpty() ? "" : " from " + subject);
    // The deadline counts from acceptance: waiting for the user's earlier changes is part of it.
    long acceptedNanos = System.nanoTime();
    return order.inTurn(vertx.getOrCreateContext(), identity, turn -> AdminDeadline.writeInTurn(vertx, redis, timeoutMs, acceptedNanos, turn,
            effect, "check with `sluice bans --user " + userId + "`",
            connection -> banScript.call(connection, 1, RedisKeys.ban(identity, subject), durationMs, reason, userId, subject, scope)))
        .map(reply -> {
          BansMade.record(metrics, MANUAL_RULE, scope, userId, subject, 0, durationMs, reason);
          return new BanInfo(userId, subject, scope, reply.toLong(), reason, 0, 0);
        });
  }

  /**
   * What an unban did: how many bans it lifted, how many instances got the notice, and how many of
   * them confirmed they dropped their cached copy before the wait ended.
   */
  public record Unbanned(int removed, long instancesNotified, long instancesConfirmed) {

    public JsonObject toJson() {
      return new JsonObject().put("removed", removed).put("instancesNotified", instancesNotified)
          .put("instancesConfirmed", instancesConfirmed);
    }
  }

  /**
   * Lifts a user's ban of one action, or every ban of the user when {@code actionOrEmpty} is empty,
   * with the violations counted toward the next one. The escalation history stays: a user who
   * offends again after an unban is banned at the next level.
   */
  public Future<Unbanned> unban(String userId, String actionOrEmptyAsGiven) {
    try {
      requireUser(userId);
      if (!actionOrEmptyAsGiven.isEmpty()) {
        Limiter.requireName("action", actionOrEmptyAsGiven);
      }
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    String identity = RedisKeys.identityNamed(userId);
    long acceptedNanos = System.nanoTime();
    return order.inTurn(vertx.getOrCreateContext(), identity, turn -> unbanInTurn(userId, identity, actionOrEmptyAsGiven, acceptedNanos, turn));
  }

  /** The keys to delete are read in the user's turn too: a ban made just before must be found. */
  private AdminDeadline.Change<Unbanned> unbanInTurn(String userId, String identity, String actionOrEmptyAsGiven, long startedNanos,
      Future<Void> turn) {
    String actionOrEmpty = subject(identity, actionOrEmptyAsGiven);
    String effect = "the unban of " + userId + (actionOrEmpty.isEmpty() ? "" : " from " + actionOrEmpty);
    Promise<Void> settled = Promise.promise();
    Promise<Unbanned> answered = Promise.promise();
    boolean[] deleting = new boolean[1];
    List<List<String>> keys = new ArrayList<>(2);
    Future<?> found = turn.compose(ready -> {
      if (answered.future().isComplete()) {
        // Answered "not made" while it waited: it reads nothing either.
        return Future.failedFuture(new AdminDeadline.NotWritten("answered before its turn"));
      }
      Future<List<String>> banKeys = actionOrEmpty.isEmpty()
          ? scan(RedisKeys.userPattern("ban", identity), new ArrayList<>(List.of(RedisKeys.ban(identity, ""))))
          : Future.succeededFuture(List.of(RedisKeys.ban(identity, actionOrEmpty)));
      Future<List<String>> violationKeys = actionOrEmpty.isEmpty()
          ? scan(RedisKeys.userPattern("violations", identity), new ArrayList<>())
          : Future.succeededFuture(List.of(RedisKeys.violations(identity, actionOrEmpty)));
      return Future.all(banKeys, violationKeys).onSuccess(both -> {
        keys.add(banKeys.result());
        keys.add(violationKeys.result());
      });
    });
    AdminDeadline.read(found, timeoutMs, startedNanos, effect + " was not made")
        .recover(notRead -> Future.failedFuture(turn.isComplete() ? AdminDeadline.notDone(notRead, effect + " was not made")
            : AdminDeadline.notInTurn(timeoutMs, effect)))
        .compose(read -> {
      List<String> banKeys = keys.get(0);
      List<String> violationKeys = keys.get(1);
      Request deleteBans = Request.cmd(Command.DEL);
      banKeys.forEach(deleteBans::arg);
      List<Request> batch = new ArrayList<>(List.of(deleteBans));
      if (!violationKeys.isEmpty()) {
        Request deleteViolations = Request.cmd(Command.DEL);
        violationKeys.forEach(deleteViolations::arg);
        batch.add(deleteViolations);
      }
      String noticeId = UUID.randomUUID().toString();
      String notice = new JsonObject().put("type", "unban").put("id", noticeId)
          .put("user", userId).put("action", actionOrEmpty).encode();
      batch.add(Request.cmd(Command.PUBLISH).arg(RedisKeys.BANS_CHANNEL).arg(notice));
      localCache.invalidate(identity, actionOrEmpty);
      // The deletes touch one user's keys (one slot); the notice goes on its own, as it has no key.
      Request publish = batch.remove(batch.size() - 1);
      // One deadline for the whole unban: the change has what the reads left of it.
      AdminDeadline.Change<long[]> deletes = AdminDeadline.writeInTurn(vertx, redis, timeoutMs, startedNanos, Future.succeededFuture(), effect,
          "check with `sluice bans --user " + userId + "`",
          connection -> connection.batch(batch).compose(deleted -> connection.send(publish).map(published ->
              new long[] {deleted.get(0).toInteger(), published.toLong()})));
      deleting[0] = true;
      deletes.settled().onComplete(done -> settled.tryComplete());
      return deletes.answer().compose(done -> confirmations(noticeId, done[1]).map(confirmed ->
          new Unbanned((int) done[0], confirmed[0], confirmed[1])));
    }).onComplete(answered).onFailure(failure -> {
      if (!deleting[0]) {
        // Failed before its deletes were sent (not read in time, or not at all): nothing follows it in Redis.
        settled.tryComplete();
      }
    });
    return new AdminDeadline.Change<>(answered.future(), settled.future());
  }

  /**
   * How many instances got the notice and how many confirmed, {0, 0} when Redis does not tell in
   * time: the unban is made by then, so a silent Redis does not turn it into a failure.
   */
  private Future<long[]> confirmations(String noticeId, long published) {
    return nodes.subscribers(RedisKeys.BANS_CHANNEL, published)
        .compose(receivers -> awaitAcks(RedisKeys.unbanAcks(noticeId), receivers, System.nanoTime() + UNBAN_CONFIRM_MS * 1_000_000)
            .map(confirmed -> new long[] {receivers, confirmed}))
        .timeout(UNBAN_CONFIRM_MS + timeoutMs, TimeUnit.MILLISECONDS)
        .otherwise(new long[] {0, 0});
  }

  /**
   * Waits until every instance that received the notice has dropped its cached copy, so that when an
   * unban returns no instance can still answer BAN from memory. Bounded: an instance that dies
   * meanwhile cannot hold the unban hostage (its cache died with it).
   *
   * @return how many instances confirmed
   */
  private Future<Long> awaitAcks(String ackKey, long receivers, long deadlineNanos) {
    return redis.send(Request.cmd(Command.LLEN).arg(ackKey)).compose(acks -> {
      if (acks.toLong() >= receivers || System.nanoTime() > deadlineNanos) {
        return redis.send(Request.cmd(Command.DEL).arg(ackKey)).map(deleted -> acks.toLong());
      }
      Promise<Long> later = Promise.promise();
      vertx.setTimer(UNBAN_POLL_MS, timer -> awaitAcks(ackKey, receivers, deadlineNanos).onComplete(later));
      return later.future();
    });
  }

  /** Confirms an unban notice, after the cache dropped the ban. */
  public static Future<Void> acknowledge(Redis redis, String noticeId) {
    String key = RedisKeys.unbanAcks(noticeId);
    return redis.batch(List.of(Request.cmd(Command.RPUSH).arg(key).arg(1),
        Request.cmd(Command.PEXPIRE).arg(key).arg(UNBAN_CONFIRM_MS * 5))).mapEmpty();
  }

  /** Every key matching {@code pattern} on every master, after those in {@code found}. */
  private Future<List<String>> scan(String pattern, List<String> found) {
    return scan(pattern, found, new String[1]);
  }

  /**
   * Every key matching {@code pattern} on every master, one master after another.
   *
   * @param scanning the master being asked now: the one to name when the answer does not come
   */
  private Future<List<String>> scan(String pattern, List<String> found, String[] scanning) {
    Future<List<String>> all = Future.succeededFuture(found);
    List<NodeClients.Master> masters = nodes.masterNodes();
    for (NodeClients.Master master : masters) {
      all = all.compose(soFar -> {
        scanning[0] = master.address();
        return scan(master.client(), pattern, soFar, "0").recover(failure -> Future.failedFuture(new IllegalStateException(
            (masters.size() > 1 ? "the master at " : "Redis at ") + master.address() + " could not be scanned (" + AdminDeadline.why(failure)
                + "); the keys it holds were not read", failure)));
      });
    }
    return all.map(keys -> {
      scanning[0] = null;
      return keys.stream().distinct().toList();
    });
  }

  private static Future<List<String>> scan(Redis node, String pattern, List<String> found, String cursor) {
    return node.send(Request.cmd(Command.SCAN).arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(SCAN_BATCH))
        .compose(reply -> {
          for (Response key : reply.get(1)) {
            found.add(key.toString());
          }
          String next = reply.get(0).toString();
          return "0".equals(next) ? Future.succeededFuture(found) : scan(node, pattern, found, next);
        });
  }

  private Future<List<BanInfo>> describe(List<String> keys) {
    // One call per key: in a Cluster the keys of different users live on different nodes.
    List<Future<Response>> calls = new ArrayList<>(keys.size() + 1);
    calls.add(redis.send(Request.cmd(Command.TIME)));
    for (String key : keys) {
      calls.add(redis.send(Request.cmd(Command.HMGET).arg(key)
          .arg("until").arg("user").arg("action").arg("scope").arg("reason").arg("level").arg("violations")));
    }
    return Future.all(calls).map(done -> calls.stream().map(Future::result).toList()).map(replies -> {
      Response time = replies.get(0);
      long nowMs = time.get(0).toLong() * 1000 + time.get(1).toLong() / 1000;
      List<BanInfo> bans = new ArrayList<>();
      for (Response ban : replies.subList(1, replies.size())) {
        if (ban.get(0) == null || ban.get(0).toLong() <= nowMs) {
          continue;
        }
        bans.add(new BanInfo(ban.get(1).toString(), ban.get(2).toString(), ban.get(3).toString(),
            ban.get(0).toLong() - nowMs, ban.get(4).toString(), ban.get(5).toInteger(), ban.get(6).toInteger()));
      }
      bans.sort(Comparator.comparingLong(BanInfo::remainingMs).reversed());
      return bans;
    });
  }

  /** An unban notice: its id (for the acknowledgement), the user, and the action (empty for all). */
  public record UnbanNotice(String id, String userId, String actionOrEmpty) {

    /** @return null when the message is not an unban notice */
    public static UnbanNotice parse(String message) {
      JsonObject notice = new JsonObject(message);
      if (!"unban".equals(notice.getString("type"))) {
        return null;
      }
      // The user as the admin APIs name it: envoy:<subject> is an Envoy subject.
      return new UnbanNotice(notice.getString("id", ""), RedisKeys.identityNamed(notice.getString("user", "")),
          notice.getString("action", ""));
    }
  }
}
