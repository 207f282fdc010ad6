package io.sluice.audit;

import io.sluice.limiter.InvalidRequestException;
import io.sluice.limits.LimitsParser;
import io.sluice.redis.AdminDeadline;
import io.sluice.redis.StreamEntries;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.List;

/**
 * Every admin action, whoever asked and through whichever API, recorded once in Redis: a capped
 * stream ({@code XADD ... MAXLEN ~}) that every instance writes and reads, so the trail is the
 * fleet's. An entry's time is Redis's (the stream id), its actor the name of the admin token shown,
 * never the token. An action done or refused is answered once its entry is written (or writing it
 * failed, which is logged), so that a caller who asks for the trail next sees it; one that failed is
 * answered at once, its entry on its way.
 */
public final class AuditTrail {

  private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);
  /** Each entry, also as a log line: shipped off the box, it outlives the capped stream that any admin token can fill. */
  private static final Logger trail = LoggerFactory.getLogger("sluice.audit");

  /** In the {sluice} Cluster slot, with the fleet's other shared keys. */
  public static final String KEY = "{sluice}:audit";
  /** About this many entries are kept (MAXLEN ~ trims whole stream nodes, so a few more may stay). */
  public static final int MAX_ENTRIES = 10_000;
  /** At most this many are read for one answer. */
  public static final int MAX_READ = 1_000;
  /** What an entry keeps of a field: user ids, reasons and messages are the callers', of any length. */
  private static final int MAX_FIELD_CHARS = 300;

  /** Who acted: the admin token's name, and the API used ({@code grpc}, {@code http}, {@code cli}, {@code console}). */
  public record Actor(String name, String via) {
  }

  /** One admin action as recorded. {@code scope} is the action or rule it concerned, empty for all. */
  public record Entry(String id, Instant at, String actor, String via, String action, String user, String scope, String outcome,
                      String detail) {

    public String atText() {
      return StreamEntries.timeText(at);
    }

    public JsonObject toJson() {
      return new JsonObject().put("id", id).put("at", atText()).put("actor", actor).put("via", via).put("action", action)
          .put("user", user).put("scope", scope).put("outcome", outcome).put("detail", detail);
    }
  }

  private final Redis redis;
  private final long timeoutMs;

  public AuditTrail(Redis redis, long timeoutMs) {
    this.redis = redis;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Answers as {@code operation} does, once what became of it is recorded: {@code ok}, {@code refused}
   * (bad input, with the reason) or {@code failed} (Redis could not do it, or it may not be done).
   */
  public <T> Future<T> recorded(Actor actor, String action, String user, String scope, String detail, Future<T> operation) {
    return recorded(actor, action, user, scope, detail, done -> detail, operation);
  }

  /** The same, the entry of a success saying what {@code whenDone} makes of its result (the version a publish stored). */
  public <T> Future<T> recorded(Actor actor, String action, String user, String scope, String detail,
                                java.util.function.Function<T, String> whenDone, Future<T> operation) {
    return operation.transform(done -> {
      boolean refused = done.cause() instanceof InvalidRequestException || done.cause() instanceof io.sluice.limits.InvalidLimitsException;
      String outcome = done.succeeded() ? "ok" : refused ? "refused" : "failed";
      String said = done.succeeded() ? whenDone.apply(done.result()) : (detail.isEmpty() ? "" : detail + ": ") + done.cause().getMessage();
      Request add = Request.cmd(Command.XADD).arg(KEY).arg("MAXLEN").arg("~").arg(MAX_ENTRIES).arg("*")
          .arg("actor").arg(bounded(actor.name())).arg("via").arg(actor.via()).arg("action").arg(action)
          .arg("user").arg(bounded(user)).arg("scope").arg(bounded(scope)).arg("outcome").arg(outcome).arg("detail").arg(bounded(said));
      trail.info("actor={} via={} action={} user={} scope={} outcome={} detail={}", bounded(actor.name()), actor.via(), action, bounded(user),
          bounded(scope), outcome, bounded(said));
      Future<Response> written = AdminDeadline.read(redis.send(add), timeoutMs, "the audit entry is not known to be written")
          .onFailure(failure -> log.warn("the audit trail did not record {} of user={} by {} via {} ({}): {}", action, bounded(user),
              actor.name(), actor.via(), outcome, failure.getMessage()));
      // A failure is most often Redis's: its caller is not kept waiting on Redis a second time for the entry.
      return "failed".equals(outcome) ? operation : written.transform(recorded -> operation);
    });
  }

  /** The latest {@code count} entries, newest first; of one user's only when {@code user} is not empty. */
  public Future<List<Entry>> recent(int count, String user) {
    if (count < 1 || count > MAX_READ) {
      return Future.failedFuture(new InvalidRequestException("count", "count must be from 1 to " + MAX_READ + ", was " + count));
    }
    // As the entry keeps it: a user id with characters the trail escapes is found by its escaped form.
    return AdminDeadline.read(StreamEntries.latestWith(redis, KEY, count, MAX_READ, "user", user.isEmpty() ? "" : bounded(user)), timeoutMs,
        "the audit trail was not read").map(latest -> latest.stream().map(item -> new Entry(item.id(), item.at(), item.field("actor"),
        item.field("via"), item.field("action"), item.field("user"), item.field("scope"), item.field("outcome"), item.field("detail")))
        .toList());
  }

  /** What a ban's entry says of it, whichever API asked. */
  public static String banDetail(long seconds, String reason) {
    return "seconds=" + seconds + (reason.isEmpty() ? "" : " reason=" + reason);
  }

  /** What an override's entry says of it, whichever API asked. */
  public static String overrideDetail(long capacity, double refillPerSecond, String until, long seconds) {
    return "capacity=" + capacity + " refillPerSecond=" + refillPerSecond + (until.isEmpty() ? " seconds=" + seconds : " until=" + until);
  }

  /** A caller's text as an entry keeps it: printable, and short. */
  private static String bounded(String text) {
    String printable = LimitsParser.printable(text == null ? "" : text);
    return printable.length() > MAX_FIELD_CHARS ? printable.substring(0, MAX_FIELD_CHARS) + "..." : printable;
  }
}
