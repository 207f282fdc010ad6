package io.sluice.limiter;

import io.sluice.redis.AdminDeadline;
import io.sluice.redis.StreamEntries;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The bans rules made, kept for operators after the bans themselves expire: a capped Redis stream
 * ({@code XADD ... MAXLEN ~}) that every instance writes and the console reads with a user's admin
 * actions from the audit trail. Operators' bans are not written here: the audit trail holds them,
 * with who made them.
 *
 * <p>A ban is known to the instance whose check made it, once its answer is decided; writing it there
 * and then would add a Redis call to a check's path. Each event loop instead keeps the bans it made
 * and writes them together once a second, off the path: at most {@link #MAX_PER_FLUSH} per second per
 * event loop, since any caller can make bans by the thousand (a flood of users each refused enough);
 * the rest are counted in {@code sluice_ban_log_dropped} and logged by {@code sluice.bans} as ever.
 * Nothing is kept for a later flush: a slow or absent Redis costs entries, never memory.
 *
 * <p>Not thread-safe: one per event loop, used on it.
 */
public final class BanLog {

  private static final Logger log = LoggerFactory.getLogger(BanLog.class);

  /** In the {sluice} Cluster slot, with the fleet's other shared keys. */
  public static final String KEY = "{sluice}:bans-made";
  /** About this many entries are kept (MAXLEN ~ trims whole stream nodes, so a few more may stay). */
  public static final int MAX_ENTRIES = 10_000;
  /** A user's entries are looked for among the latest this many: a search never walks the whole stream. */
  public static final int MAX_READ = 1_000;
  static final int MAX_PER_FLUSH = 100;
  public static final long FLUSH_INTERVAL_MS = 1_000;

  /**
   * One ban a rule made. {@code actionOrEmpty} is empty for a ban of every action; the time is Redis's
   * when it was written, within a second or so of the ban (so two instances' bans may be listed in
   * the order they were written rather than made).
   */
  public record Entry(String id, Instant at, String user, String actionOrEmpty, String rule, String scope, int level, long lengthMs,
                      int violations, String reason) {

    public JsonObject toJson() {
      return new JsonObject().put("id", id).put("at", StreamEntries.timeText(at)).put("user", user).put("action", actionOrEmpty).put("rule", rule)
          .put("scope", scope).put("level", level).put("lengthMs", lengthMs).put("violations", violations).put("reason", reason);
    }
  }

  private final Redis redis;
  private final Metrics metrics;
  private final List<Request> waiting = new ArrayList<>();

  public BanLog(Redis redis, Metrics metrics) {
    this.redis = redis;
    this.metrics = metrics;
  }

  /** A ban a rule's abuse policy just made; written at the next {@link #flush}, or counted as dropped. */
  void record(String user, String actionOrEmpty, String rule, String scope, int level, long lengthMs, int violations, String reason) {
    if (waiting.size() >= MAX_PER_FLUSH) {
      metrics.banLogDropped();
      return;
    }
    waiting.add(Request.cmd(Command.XADD).arg(KEY).arg("MAXLEN").arg("~").arg(MAX_ENTRIES).arg("*")
        .arg("user").arg(user).arg("action").arg(actionOrEmpty).arg("rule").arg(rule).arg("scope").arg(scope)
        .arg("level").arg(level).arg("lengthMs").arg(lengthMs).arg("violations").arg(violations).arg("reason").arg(reason));
  }

  /** Whether bans wait for the next flush. */
  public boolean hasWaiting() {
    return !waiting.isEmpty();
  }

  /** Writes the bans recorded since the last flush, in one round trip; what Redis does not take is lost, and said. */
  public Future<Void> flush() {
    if (waiting.isEmpty()) {
      return Future.succeededFuture();
    }
    List<Request> batch = new ArrayList<>(waiting);
    waiting.clear();
    return redis.batch(batch).<Void>mapEmpty().onFailure(failure -> {
      metrics.banLogDropped(batch.size());
      log.warn("{} ban(s) made by rules were not written to {}: {}", batch.size(), KEY, failure.getMessage());
    });
  }

  /** The latest {@code count} bans rules made, newest first; of one user's only when {@code user} is not empty. */
  public static Future<List<Entry>> recent(Redis redis, long timeoutMs, int count, String user) {
    if (count < 1 || count > MAX_READ) {
      return Future.failedFuture(new InvalidRequestException("count", "count must be from 1 to " + MAX_READ + ", was " + count));
    }
    return AdminDeadline.read(StreamEntries.latestWith(redis, KEY, count, MAX_READ, "user", user), timeoutMs,
        "the bans rules made were not read").map(latest -> latest.stream().map(item -> new Entry(item.id(), item.at(), item.field("user"),
        item.field("action"), item.field("rule"), item.field("scope"), (int) number(item.field("level")), number(item.field("lengthMs")),
        (int) number(item.field("violations")), item.field("reason"))).toList());
  }

  /** A field written by this class; an entry someone else wrote with text there reads as 0. */
  private static long number(String field) {
    try {
      return Long.parseLong(field);
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
