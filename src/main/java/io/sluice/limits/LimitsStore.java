package io.sluice.limits;

import io.sluice.redis.AdminDeadline;
import io.sluice.redis.RedisKeys;
import io.sluice.redis.StreamEntries;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * The published limits in Redis: the overlay of every accepted change ({@link RedisKeys#LIMITS_KEY}),
 * with a version that grows by one per change. It only ever holds what is valid on top of the
 * limits file, so an instance that starts or reconnects later enforces exactly what the running
 * ones enforce. Every change is made in one MULTI under WATCH, read, merged and checked again when
 * someone else changed the key meanwhile.
 *
 * <p>Two ways in: the {@code publish-limits} tool stores a change and publishes it in the same
 * transaction, tagged with the version it stored; and a change that arrived on the channel some
 * other way (a raw {@code redis-cli PUBLISH}) is stored by the instances that accept it. Either way
 * instances adopt what is stored, so the fleet never splits.
 */
public final class LimitsStore {

  /** The version field of the stored overlay and of a published message. */
  public static final String VERSION = "version";
  private static final int ATTEMPTS = 10;

  /** What publishing did. */
  public record Published(JsonObject overlay, long version, long receivers) {
  }

  /** About this many stored versions are kept for a rollback. */
  public static final int HISTORY = 100;

  /** A stored version of the published limits, and who stored it (an admin token's name, or how it came). */
  public record Version(String id, java.time.Instant at, long version, String actor, JsonObject overlay) {
    public JsonObject toJson() {
      return new JsonObject().put("version", version).put("at", StreamEntries.timeText(at)).put("actor", actor).put("overlay", overlay);
    }
  }

  private LimitsStore() {
  }

  /**
   * Merges {@code message} into the stored overlay and, when {@code base} with the result is a valid
   * limits document, stores it and publishes the message, atomically. Otherwise fails with
   * {@link InvalidLimitsException} naming every problem, and nothing is stored or published.
   *
   * Within {@code timeoutMs} ({@link AdminDeadline}): a change not written by then is never written,
   * and one whose EXEC is unanswered then is reported as of unknown outcome.
   *
   * @param base the limits file the fleet runs on
   */
  public static Future<Published> publish(Vertx vertx, Redis redis, String message, JsonObject base, long timeoutMs) {
    return publish(vertx, redis, message, base, timeoutMs, TOOL_ACTOR);
  }

  /** Who the history says stored a version that {@code publish-limits} wrote: the tool, and the account it ran as. */
  public static final String TOOL_ACTOR = "publish-limits (" + System.getProperty("user.name", "?") + ")";

  /** @param actor who publishes, as the history of versions records it */
  public static Future<Published> publish(Vertx vertx, Redis redis, String message, JsonObject base, long timeoutMs, String actor) {
    return publish(vertx, redis, message, base, timeoutMs, actor, ANY_VERSION);
  }

  /** What {@code expectedVersion} is when a change is made on top of whatever is stored. */
  public static final long ANY_VERSION = -1;

  /**
   * @param expectedVersion the stored version the change was made against (as {@link #check} said),
   *                        or {@link #ANY_VERSION}: when another is stored by then, someone published
   *                        meanwhile, and the change is refused, nothing stored, naming both
   */
  public static Future<Published> publish(Vertx vertx, Redis redis, String message, JsonObject base, long timeoutMs, String actor,
                                          long expectedVersion) {
    JsonObject parsed;
    try {
      parsed = message(message);
      LimitsOverlay.merge(new JsonObject(), parsed, "message");
    } catch (RuntimeException e) {
      return Future.failedFuture(e instanceof InvalidLimitsException ? e
          : new InvalidLimitsException("message", java.util.List.of("not a JSON object: " + firstLine(e.getMessage()))));
    }
    Function<JsonObject, Change> decide = stored -> {
      if (expectedVersion != ANY_VERSION && version(stored) != expectedVersion) {
        throw new InvalidLimitsException("message", List.of("expectedVersion: the stored limits are at version " + version(stored)
            + ", not " + expectedVersion + " (published meanwhile): check the change again on top of them"));
      }
      JsonObject next = validNext(stored, parsed, base, "message");
      return new Change(next, parsed.copy().put(VERSION, next.getLong(VERSION)), actor);
    };
    return AdminDeadline.changeInTurn(vertx, redis, timeoutMs, System.nanoTime(), Future.succeededFuture(), "the limits change",
            "check with `sluice limits`", (connection, writing) -> attempt(connection, writing, decide, ATTEMPTS)).answer()
        .compose(LimitsStore::refusedOrDone)
        .map(done -> new Published(done.stored(), done.stored().getLong(VERSION), done.receivers()));
  }

  /**
   * A change that arrived on the channel, as an instance takes it: one the tool published is in the
   * store already and is only read back; any other is stored when valid on top of {@code base}, or
   * refused with {@link InvalidLimitsException}, leaving no trace. Completes with the overlay to
   * apply: the stored one.
   */
  static Future<JsonObject> accept(Redis redis, JsonObject message, JsonObject base, String source) {
    return transact(redis, stored -> {
      long published = message.getLong(VERSION, -1L);
      if (published >= 0 && published <= version(stored)) {
        return null;
      }
      JsonObject next = validNext(stored, message, base, source);
      // Already stored by another instance that took the same message: nothing to write.
      return sameChanges(next, stored) ? null : new Change(next, null, "a message on " + RedisKeys.LIMITS_CHANNEL + " (" + source + ")");
    }).compose(LimitsStore::refusedOrDone).map(Done::stored);
  }

  /** A change checked: the limits it would make, on top of the stored version it was checked against. */
  public record Checked(JsonObject limits, long storedVersion) {
  }

  /** What {@code change} would make of the limits in force, checked as publishing checks it: the document after, or the refusal. */
  public static Future<Checked> check(Redis redis, String change, JsonObject base) {
    return read(redis).map(stored -> {
      JsonObject parsed = message(change);
      JsonObject next = validNext(stored, parsed, base, "message");
      // As the limits in force are shown (every field spelled out), so that the two compare line by line.
      return new Checked(LimitsParser.toJson(LimitsParser.parse(LimitsOverlay.apply(base, next), "message", 0)), version(stored));
    });
  }

  /** A change as text: a JSON object, or the refusal saying what it is instead. */
  private static JsonObject message(String text) {
    if (text == null || text.isBlank()) {
      throw new InvalidLimitsException("message", List.of("the change is empty: give a limits document such as {\"rules\": {...}}"));
    }
    Object value;
    try {
      value = io.vertx.core.json.Json.decodeValue(text);
    } catch (io.vertx.core.json.DecodeException e) {
      throw new InvalidLimitsException("message", List.of(JsonSyntax.describe(e)));
    }
    if (!(value instanceof JsonObject object)) {
      throw new InvalidLimitsException("message", List.of("the change must be a JSON object (a limits document), was "
          + LimitsParser.describe(value)));
    }
    return object;
  }

  /** The stored versions, newest first, at most {@code count}. */
  public static Future<List<Version>> history(Redis redis, int count) {
    return StreamEntries.latest(redis, RedisKeys.LIMITS_HISTORY, count).map(entries -> entries.stream()
        .map(entry -> new Version(entry.id(), entry.at(), Long.parseLong(entry.fields().getOrDefault(VERSION, "0")), entry.field("actor"),
            new JsonObject(entry.fields().getOrDefault("overlay", "{}"))))
        .toList());
  }

  /**
   * Stores again what was stored as {@code version} (the history keeps the latest {@link #HISTORY}),
   * as a new version, and publishes it: a reset and that version's overlay, so every instance ends
   * with exactly it whatever it had.
   */
  public static Future<Published> rollback(Vertx vertx, Redis redis, long version, JsonObject base, long timeoutMs, String actor) {
    return AdminDeadline.read(history(redis, HISTORY), timeoutMs, "the history of the published limits was not read").compose(versions -> {
      for (Version stored : versions) {
        if (stored.version() == version) {
          JsonObject message = stored.overlay().copy();
          message.remove(VERSION);
          return publish(vertx, redis, message.put(LimitsOverlay.RESET, true).encode(), base, timeoutMs, actor);
        }
      }
      return Future.failedFuture(new InvalidLimitsException("rollback", List.of("version " + version
          + " is not among the stored versions (the latest " + HISTORY + " are kept)")));
    });
  }

  /** The stored overlay; empty when nothing was published. */
  static Future<JsonObject> read(Redis redis) {
    return redis.send(Request.cmd(Command.GET).arg(RedisKeys.LIMITS_KEY)).map(LimitsStore::overlay);
  }

  private static JsonObject validNext(JsonObject stored, JsonObject message, JsonObject base, String source) {
    JsonObject next = LimitsOverlay.merge(stored, message, source);
    LimitsParser.parse(LimitsOverlay.apply(base, next), source, 0);
    return next.put(VERSION, version(stored) + 1);
  }

  private static boolean sameChanges(JsonObject next, JsonObject stored) {
    JsonObject a = next.copy();
    JsonObject b = stored.copy();
    a.remove(VERSION);
    b.remove(VERSION);
    return a.equals(b);
  }

  static long version(JsonObject overlay) {
    return overlay.getLong(VERSION, 0L);
  }

  /** What to write: the next overlay, the message to publish with it (null: publish nothing), and who made it. */
  private record Change(JsonObject overlay, JsonObject publish, String actor) {
  }

  /** @param refusal why the change was refused (nothing was written), or null */
  private record Done(JsonObject stored, long receivers, RuntimeException refusal) {
  }

  private static Future<Done> refusedOrDone(Done done) {
    return done.refusal() != null ? Future.failedFuture(done.refusal()) : Future.succeededFuture(done);
  }

  /** @param decide given the stored overlay, the change to make, or null to leave it as it is */
  private static Future<Done> transact(Redis redis, Function<JsonObject, Change> decide) {
    return redis.connect().compose(connection -> attempt(connection, () -> true, decide, ATTEMPTS).eventually(connection::close));
  }

  /**
   * @param writing asked right before MULTI: false when the deadline passed, and then nothing is
   *                written (WATCH and GET change nothing)
   */
  private static Future<Done> attempt(RedisConnection connection, BooleanSupplier writing, Function<JsonObject, Change> decide,
      int attemptsLeft) {
    return connection.send(Request.cmd(Command.WATCH).arg(RedisKeys.LIMITS_KEY))
        .compose(watching -> connection.send(Request.cmd(Command.GET).arg(RedisKeys.LIMITS_KEY)))
        .compose(reply -> {
          JsonObject stored = overlay(reply);
          Change change;
          try {
            change = decide.apply(stored);
          } catch (RuntimeException e) {
            // Refused by the change itself, not by Redis: a success of the exchange, carried as such, at once
            // (the connection is closed after, which drops the WATCH: no need to wait for an UNWATCH).
            connection.send(Request.cmd(Command.UNWATCH));
            return Future.succeededFuture(new Done(stored, 0, e));
          }
          if (change == null) {
            connection.send(Request.cmd(Command.UNWATCH));
            return Future.succeededFuture(new Done(stored, 0, null));
          }
          if (!writing.getAsBoolean()) {
            // A pooled connection goes back to the pool: without its WATCH.
            connection.send(Request.cmd(Command.UNWATCH));
            return Future.failedFuture(new AdminDeadline.NotWritten("past the deadline"));
          }
          // In one write: once the deadline allowed it, the transaction leaves whole, EXEC with it.
          List<Request> transaction = new ArrayList<>(4);
          transaction.add(Request.cmd(Command.MULTI));
          transaction.add(Request.cmd(Command.SET).arg(RedisKeys.LIMITS_KEY).arg(change.overlay().encode()));
          transaction.add(Request.cmd(Command.XADD).arg(RedisKeys.LIMITS_HISTORY).arg("MAXLEN").arg("~").arg(HISTORY).arg("*")
              .arg(VERSION).arg(change.overlay().getLong(VERSION)).arg("actor").arg(change.actor()).arg("overlay").arg(change.overlay().encode()));
          if (change.publish() != null) {
            transaction.add(Request.cmd(Command.PUBLISH).arg(RedisKeys.LIMITS_CHANNEL).arg(change.publish().encode()));
          }
          transaction.add(Request.cmd(Command.EXEC));
          return connection.batch(transaction).compose(replies -> {
            Response exec = replies.get(replies.size() - 1);
            if (exec != null && exec.size() > 0) {
              return Future.succeededFuture(new Done(change.overlay(), change.publish() == null ? 0 : exec.get(2).toLong(), null));
            }
            // Someone changed the key in between: decide again on what they stored.
            return attemptsLeft > 1
                ? attempt(connection, writing, decide, attemptsLeft - 1)
                : Future.failedFuture(new AdminDeadline.NotWritten("the limits key kept changing"));
          });
        });
  }

  private static JsonObject overlay(Response stored) {
    return stored == null ? new JsonObject() : new JsonObject(stored.toString());
  }

  private static String firstLine(String message) {
    return LimitsParser.printable(message == null ? "" : message.lines().findFirst().orElse(""));
  }
}
