package io.sluice.ops;

import io.sluice.limiter.BanAdmin;
import io.sluice.limiter.BanInfo;
import io.sluice.limiter.InvalidRequestException;
import io.sluice.limiter.TierAdmin;
import io.sluice.envoy.LiveEnvoyRules;
import io.sluice.limits.JsonSyntax;
import io.sluice.limits.LimitsStore;
import io.sluice.limits.LiveLimits;
import io.sluice.audit.AuditTrail;
import io.sluice.limiter.BanLog;
import io.sluice.security.FailedLogins;
import io.sluice.security.AdminTokens;
import io.sluice.redis.AdminDeadline;
import io.sluice.telemetry.Metrics;
import io.sluice.throttle.ThrottleReport;
import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.redis.client.Redis;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

/**
 * The admin HTTP API: the operations of the gRPC {@code Admin} service as JSON, behind a bearer
 * token. Both call the same {@link BanAdmin}, {@link LiveLimits} and {@link ThrottleReport}, so the
 * two APIs cannot drift apart.
 */
final class AdminRoutes {

  private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);
  private static final int MAX_BODY_BYTES = 64 * 1024;

  /** Where {@link #authorize} leaves the name of the token shown, for the audit trail. */
  static final String ACTOR = "sluice.actor";
  /** Where an authorizer other than the bearer token's leaves the name of its API ("console"). */
  static final String VIA = "sluice.via";

  private final AdminTokens tokens;
  private final AuditTrail audit;
  private final BanAdmin bans;
  private final TierAdmin tiers;
  private final LiveLimits limits;
  private final Redis redis;
  private final Metrics metrics;
  private final LiveEnvoyRules envoyRules;

  /** @param envoyRules null when no Envoy rules are served */
  private final io.vertx.core.Vertx vertx;

  private final DecisionRates rates;
  private final FailedLogins failedLogins;
  private final FleetDecisions fleetRates;

  AdminRoutes(io.vertx.core.Vertx vertx, AdminTokens tokens, AuditTrail audit, BanAdmin bans, TierAdmin tiers, LiveLimits limits, Redis redis,
              Metrics metrics, LiveEnvoyRules envoyRules, DecisionRates rates, FleetDecisions fleetRates, FailedLogins failedLogins) {
    this.failedLogins = failedLogins;
    this.rates = rates;
    this.fleetRates = fleetRates;
    this.vertx = vertx;
    this.tiers = tiers;
    this.envoyRules = envoyRules;
    this.tokens = tokens;
    this.audit = audit;
    this.bans = bans;
    this.limits = limits;
    this.redis = redis;
    this.metrics = metrics;
  }

  /** With no token configured the API does not exist: every admin path answers 404 saying how to turn it on. */
  static void disabled(Router router) {
    router.route("/admin/*").handler(ctx -> json(ctx, 404,
        new JsonObject().put("error", "the admin HTTP API is off; set adminToken (SLUICE_ADMIN_TOKEN) or adminTokensFile to turn it on")));
  }

  void mount(Router router) {
    mount(router, "/admin", this::authorize);
  }

  /**
   * The API under {@code base}, behind {@code authorize}, which lets a request through only for an
   * actor it names in the context ({@link #ACTOR}, and {@link #VIA} for the API's name): the console's
   * own session is one.
   */
  void mount(Router router, String base, io.vertx.core.Handler<RoutingContext> authorize) {
    router.route(base + "/*").handler(authorize);
    router.route(base + "/*").handler(BodyHandler.create().setBodyLimit(MAX_BODY_BYTES));
    router.get(base + "/fleet").handler(ctx -> answer(ctx, FleetView.read(redis, bans.timeoutMs())));
    router.get(base + "/decisions").handler(ctx -> answer(ctx, withQuery(ctx, DECISIONS_QUERY, query -> switch (query.getOrDefault("scope", "instance")) {
      case "instance" -> Future.succeededFuture(rates.toJson().put("scope", "instance")
          .put("topLimited", metrics.topLimited().top(io.sluice.telemetry.TopLimited.Kind.LIMITED, 10))
          .put("topShadow", metrics.topLimited().top(io.sluice.telemetry.TopLimited.Kind.SHADOW, 10)));
      case "fleet" -> Future.succeededFuture(fleetRates.toJson());
      default -> Future.failedFuture(new InvalidRequestException("scope", "scope must be instance or fleet, was " + query.get("scope")));
    })));
    // Limits published from here are checked and stored as publish-limits does: on this instance's file, merged into the stored overlay.
    router.post(base + "/limits/check").handler(ctx -> answer(ctx, AdminDeadline.read(LimitsStore.check(redis, bodyText(ctx), limits.file()),
        bans.timeoutMs(), "the stored limits were not read").map(checked -> new JsonObject().put("limits", checked.limits())
        .put("storedVersion", checked.storedVersion()))));
    router.post(base + "/limits").handler(ctx -> answer(ctx, withQuery(ctx, PUBLISH_QUERY, query -> expectedVersion(query)
        .compose(expected -> audit.recorded(actor(ctx), "limits.publish", "", "", "",
            (LimitsStore.Published published) -> "stored as version " + published.version() + ": " + bodyText(ctx),
            LimitsStore.publish(vertx, redis, bodyText(ctx), limits.file(), bans.timeoutMs(), ctx.get(ACTOR), expected))))
        .map(AdminRoutes::published)));
    router.get(base + "/limits/history").handler(ctx -> answer(ctx, AdminDeadline.read(LimitsStore.history(redis, LimitsStore.HISTORY),
            bans.timeoutMs(), "the history of the published limits was not read")
        .map(versions -> new JsonObject().put("versions", new JsonArray(versions.stream().map(LimitsStore.Version::toJson).toList())))));
    router.post(base + "/limits/rollback").handler(this::rollback);
    router.get(base + "/limits").handler(ctx -> json(ctx, 200, limits.status().toJson()));
    router.get(base + "/envoy").handler(ctx -> json(ctx, envoyRules == null ? 404 : 200, envoyRules == null
        ? new JsonObject().put("error", "no Envoy rules are served; set envoyRules (--envoy-rules) to a directory of rule files")
        : envoyRules.toJson()));
    router.get(base + "/throttle").handler(ctx -> answer(ctx, ThrottleReport.report(redis, bans.timeoutMs()).map(report -> new JsonObject()
        .put("subjects", new JsonArray(report.subjects().stream().map(ThrottleReport.Subject::toJson).toList()))
        .put("settings", report.settings()))));
    router.get(base + "/bans").handler(ctx -> answer(ctx, withQuery(ctx, BAN_QUERY, query -> bans.list(query.getOrDefault("user", ""))).map(list ->
        new JsonObject().put("bans", new JsonArray(list.stream().map(BanInfo::toJson).toList())))));
    router.post(base + "/bans").handler(this::ban);
    router.delete(base + "/bans").handler(ctx -> answer(ctx, withQuery(ctx, BAN_QUERY, query -> audit.recorded(actor(ctx), "unban",
        query.getOrDefault("user", ""), query.getOrDefault("action", ""), "",
        bans.unban(query.getOrDefault("user", ""), query.getOrDefault("action", "")))).map(BanAdmin.Unbanned::toJson)));
    router.get(base + "/tiers").handler(ctx -> answer(ctx, withQuery(ctx, TIER_QUERY, query -> tiers.get(query.getOrDefault("user", "")))
        .map(TierAdmin.StoredTier::toJson)));
    router.put(base + "/tiers").handler(this::setTier);
    router.get(base + "/overrides").handler(ctx -> answer(ctx, withQuery(ctx, BAN_QUERY, query ->
        tiers.getOverride(query.getOrDefault("user", ""), query.getOrDefault("action", ""))).map(TierAdmin.StoredOverride::toJson)));
    router.put(base + "/overrides").handler(this::setOverride);
    router.delete(base + "/overrides").handler(ctx -> answer(ctx, withQuery(ctx, BAN_QUERY, query -> audit.recorded(actor(ctx),
        "override.clear", query.getOrDefault("user", ""), query.getOrDefault("action", ""), "",
        tiers.clearOverride(query.getOrDefault("user", ""), query.getOrDefault("action", "")))).map(TierAdmin.StoredOverride::toJson)));
    router.delete(base + "/tiers").handler(ctx -> answer(ctx, withQuery(ctx, TIER_QUERY, query -> audit.recorded(actor(ctx), "tier.clear",
        query.getOrDefault("user", ""), "", "", tiers.clear(query.getOrDefault("user", "")))).map(TierAdmin.StoredTier::toJson)));
    router.get(base + "/audit").handler(ctx -> answer(ctx, withQuery(ctx, AUDIT_QUERY, query -> count(query, AuditTrail.MAX_READ)
        .compose(count -> audit.recent(count, query.getOrDefault("user", ""))))
        .map(entries -> new JsonObject().put("entries", new JsonArray(entries.stream().map(AuditTrail.Entry::toJson).toList())))));
    router.get(base + "/bans/history").handler(ctx -> answer(ctx, withQuery(ctx, AUDIT_QUERY, query -> count(query, BanLog.MAX_READ)
        .compose(count -> BanLog.recent(redis, bans.timeoutMs(), count, query.getOrDefault("user", ""))))
        .map(entries -> new JsonObject().put("entries", new JsonArray(entries.stream().map(BanLog.Entry::toJson).toList())))));
  }

  /** A query's {@code count}: 100 when not given, refused unless a whole number (the reader bounds it to {@code max}). */
  private static Future<Integer> count(Map<String, String> query, int max) {
    try {
      return Future.succeededFuture(Integer.parseInt(query.getOrDefault("count", "100")));
    } catch (NumberFormatException e) {
      return Future.failedFuture(new InvalidRequestException("count", "count must be a whole number from 1 to " + max
          + ", was " + query.get("count")));
    }
  }

  private void authorize(RoutingContext ctx) {
    long retryAfterMs = failedLogins.retryAfterMs(clientAddress(ctx, failedLogins), System.nanoTime());
    if (retryAfterMs > 0) {
      metrics.unauthenticated("http-admin-guessing");
      ctx.response().putHeader("Retry-After", String.valueOf(FailedLogins.retryAfterSeconds(retryAfterMs)));
      json(ctx, 429, new JsonObject().put("error", FailedLogins.tooManyWrongTokens(retryAfterMs)));
      return;
    }
    String authorization = ctx.request().getHeader("Authorization");
    String actor = tokens.actorOf(authorization);
    if (actor != null) {
      ctx.put(ACTOR, actor);
      ctx.next();
      return;
    }
    if (authorization != null && !authorization.isBlank()) {
      // A token shown that opens nothing is a guess; no header at all is a probe, not one.
      failedLogins.failed(clientAddress(ctx, failedLogins), System.nanoTime());
    }
    metrics.unauthenticated("http-admin");
    ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"sluice admin\"");
    json(ctx, 401, new JsonObject().put("error", "a valid 'Authorization: Bearer <adminToken>' header is required"));
  }

  /** The address {@link FailedLogins} counts a caller's wrong tokens under. */
  static String clientAddress(RoutingContext ctx, FailedLogins failedLogins) {
    io.vertx.core.net.SocketAddress remote = ctx.request().remoteAddress();
    return failedLogins.clientOf(remote == null ? "" : remote.hostAddress(), ctx.request().getHeader("X-Forwarded-For"));
  }


  /** What a ban's body may hold: anything else is refused, not ignored (a misspelt field would be). */
  private static final Set<String> BAN_FIELDS = Set.of("user", "action", "seconds", "reason");
  /** What the bans' query may hold, in the order an error lists them. */
  private static final List<String> BAN_QUERY = List.of("user", "action");
  /** What a tier's query may hold. */
  private static final List<String> TIER_QUERY = List.of("user");
  private static final List<String> AUDIT_QUERY = List.of("count", "user");
  private static final List<String> DECISIONS_QUERY = List.of("scope");
  private static final List<String> PUBLISH_QUERY = List.of("expectedVersion");

  /** A publish's {@code expectedVersion}: any version when not given. */
  private static Future<Long> expectedVersion(Map<String, String> query) {
    String given = query.get("expectedVersion");
    if (given == null) {
      return Future.succeededFuture(LimitsStore.ANY_VERSION);
    }
    try {
      long version = Long.parseLong(given);
      if (version >= 0) {
        return Future.succeededFuture(version);
      }
    } catch (NumberFormatException e) {
      // Refused below, as a negative number is.
    }
    return Future.failedFuture(new InvalidRequestException("expectedVersion", "expectedVersion must be a stored version (0 or more), was "
        + given));
  }

  private static AuditTrail.Actor actor(RoutingContext ctx) {
    String via = ctx.get(VIA);
    return new AuditTrail.Actor(ctx.get(ACTOR), via == null ? "http" : via);
  }
  private static final Set<String> TIER_FIELDS = Set.of("user", "tier");

  /**
   * The body of a POST or PUT: a JSON object of {@code fields} only, or null when refused (answered
   * 400 naming what is wrong).
   */
  private static JsonObject body(RoutingContext ctx, Set<String> fields, String shape, String takes) {
    Object parsed;
    try {
      // No body at all has no buffer (Vert.x gives null, not an empty one): refused as an empty one is.
      io.vertx.core.buffer.Buffer raw = ctx.body() == null ? null : ctx.body().buffer();
      parsed = raw == null || raw.length() == 0 ? null : Json.decodeValue(raw);
    } catch (DecodeException e) {
      invalid(ctx, "body", "the body is " + JsonSyntax.describe(e));
      return null;
    }
    if (!(parsed instanceof JsonObject body)) {
      invalid(ctx, "body", "the body must be a JSON object " + shape);
      return null;
    }
    for (String field : body.fieldNames()) {
      if (!fields.contains(field)) {
        invalid(ctx, field, "unknown field \"" + field + "\": " + takes);
        return null;
      }
    }
    return body;
  }

  private static final Set<String> OVERRIDE_FIELDS = Set.of("user", "action", "capacity", "refillPerSecond", "until", "seconds");

  private void setOverride(RoutingContext ctx) {
    JsonObject body = body(ctx, OVERRIDE_FIELDS, "{\"user\", \"action\", \"capacity\", \"refillPerSecond\", \"until\" or \"seconds\"}",
        "an override takes user, action, capacity, refillPerSecond, and until or seconds");
    if (body == null) {
      return;
    }
    Object capacity = body.getValue("capacity");
    if (!(capacity instanceof Number c) || c.doubleValue() != Math.rint(c.doubleValue()) || c.doubleValue() < 1
        || c.doubleValue() > io.sluice.limits.LimitsParser.MAX_CAPACITY) {
      invalid(ctx, "capacity", "capacity must be a whole number from 1 to " + io.sluice.limits.LimitsParser.MAX_CAPACITY + ", was " + capacity);
      return;
    }
    Object refill = body.getValue("refillPerSecond");
    if (!(refill instanceof Number r)) {
      invalid(ctx, "refillPerSecond", "refillPerSecond must be a number above 0, was " + refill);
      return;
    }
    Object seconds = body.getValue("seconds");
    if (seconds != null && (!(seconds instanceof Number s) || s.doubleValue() != Math.rint(s.doubleValue()) || s.doubleValue() < 1
        || s.doubleValue() > TierAdmin.MAX_OVERRIDE_SECONDS)) {
      invalid(ctx, "seconds", "seconds must be a whole number from 1 to " + TierAdmin.MAX_OVERRIDE_SECONDS + ", was " + seconds);
      return;
    }
    String user;
    String action;
    String until;
    try {
      user = text(body, "user");
      action = text(body, "action");
      until = text(body, "until");
    } catch (InvalidRequestException e) {
      invalid(ctx, e.field(), e.getMessage());
      return;
    }
    long forSeconds = seconds == null ? 0 : ((Number) seconds).longValue();
    answer(ctx, audit.recorded(actor(ctx), "override.set", user, action, AuditTrail.overrideDetail(c.longValue(), r.doubleValue(), until, forSeconds),
        tiers.setOverride(user, action, c.longValue(), r.doubleValue(), until, forSeconds)).map(TierAdmin.StoredOverride::toJson));
  }

  private void rollback(RoutingContext ctx) {
    JsonObject body = body(ctx, Set.of("version"), "{\"version\"}", "a rollback takes the version to go back to");
    if (body == null) {
      return;
    }
    if (!(body.getValue("version") instanceof Number version) || version.doubleValue() != Math.rint(version.doubleValue())
        || version.longValue() < 1) {
      invalid(ctx, "version", "version must be a stored version of the published limits (a whole number from 1), was " + body.getValue("version"));
      return;
    }
    answer(ctx, audit.recorded(actor(ctx), "limits.rollback", "", "", "to version " + version.longValue(),
        (LimitsStore.Published published) -> "to version " + version.longValue() + ", stored as version " + published.version(),
        LimitsStore.rollback(vertx, redis, version.longValue(), limits.file(), bans.timeoutMs(), ctx.get(ACTOR)))
        .map(AdminRoutes::published));
  }

  private static JsonObject published(LimitsStore.Published published) {
    return new JsonObject().put("version", published.version()).put("receivers", published.receivers());
  }

  private static String bodyText(RoutingContext ctx) {
    return ctx.body() == null || ctx.body().buffer() == null ? "" : ctx.body().asString();
  }

  private void setTier(RoutingContext ctx) {
    JsonObject body = body(ctx, TIER_FIELDS, "{\"user\", \"tier\"}", "a tier's change takes user and tier");
    if (body == null) {
      return;
    }
    String user;
    String tier;
    try {
      user = text(body, "user");
      tier = text(body, "tier");
    } catch (InvalidRequestException e) {
      invalid(ctx, e.field(), e.getMessage());
      return;
    }
    // An empty tier removes the stored one, as gRPC's SetTier does (and DELETE).
    answer(ctx, audit.recorded(actor(ctx), tier.isEmpty() ? "tier.clear" : "tier.set", user, "", tier.isEmpty() ? "" : "tier=" + tier,
        tier.isEmpty() ? tiers.clear(user) : tiers.set(user, tier)).map(TierAdmin.StoredTier::toJson));
  }

  private void ban(RoutingContext ctx) {
    JsonObject body = body(ctx, BAN_FIELDS, "{\"user\", \"action\", \"seconds\", \"reason\"}", "a ban takes user, action, seconds and reason");
    if (body == null) {
      return;
    }
    Object seconds = body.getValue("seconds");
    if (!(seconds instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())
        || n.doubleValue() < 1 || n.doubleValue() > BanAdmin.MAX_BAN_SECONDS) {
      invalid(ctx, "seconds", "seconds must be a whole number from 1 to " + BanAdmin.MAX_BAN_SECONDS + ", was " + seconds);
      return;
    }
    String user;
    String action;
    String reason;
    try {
      user = text(body, "user");
      action = text(body, "action");
      reason = text(body, "reason");
    } catch (InvalidRequestException e) {
      invalid(ctx, e.field(), e.getMessage());
      return;
    }
    answer(ctx, audit.recorded(actor(ctx), "ban", user, action, AuditTrail.banDetail(n.longValue(), reason),
        bans.ban(user, action, n.longValue(), reason)).map(BanInfo::toJson));
  }

  private static void invalid(RoutingContext ctx, String field, String message) {
    json(ctx, 400, new JsonObject().put("error", message).put("field", field));
  }

  /** A text field: a JSON string or absent (""); a number or anything else is refused, not turned into text. */
  private static String text(JsonObject body, String key) {
    Object value = body.getValue(key);
    if (value == null) {
      return "";
    }
    if (!(value instanceof String text)) {
      throw new InvalidRequestException(key, key + " must be a JSON string, was " + Json.encode(value));
    }
    return text;
  }

  /**
   * The operation on the query's parameters, read once and strictly, or its refusal: a parameter other
   * than {@code parameters}, or one given twice, is refused (a misspelt {@code acton}
   * read as absent would widen an unban to every action), and so is a name or value with a malformed
   * escape ({@code %zz}) or bytes that are not UTF-8 ({@code %ff%fe}), naming it, rather than being
   * replaced or thrown as an internal error. Names are decoded as values are.
   */
  private static <T> Future<T> withQuery(RoutingContext ctx, List<String> parameters, Function<Map<String, String>, Future<T>> operation) {
    Map<String, String> values = new HashMap<>();
    String query = ctx.request().query();
    try {
      for (String pair : query == null ? new String[0] : query.split("&")) {
        if (pair.isEmpty()) {
          continue;
        }
        int equals = pair.indexOf('=');
        String key = QueryText.decode("a parameter name", equals < 0 ? pair : pair.substring(0, equals));
        if (!parameters.contains(key)) {
          throw new InvalidRequestException(key, "unknown parameter \"" + key + "\": this takes " + String.join(" and ", parameters));
        }
        if (values.put(key, QueryText.decode(key, equals < 0 ? "" : pair.substring(equals + 1))) != null) {
          throw new InvalidRequestException(key, key + " is given more than once");
        }
      }
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    return operation.apply(values);
  }

  private static void answer(RoutingContext ctx, Future<JsonObject> result) {
    result.onComplete(done -> {
      if (done.succeeded()) {
        json(ctx, 200, done.result());
      } else if (done.cause() instanceof InvalidRequestException invalid) {
        json(ctx, 400, new JsonObject().put("error", invalid.getMessage()).put("field", invalid.field()));
      } else if (done.cause() instanceof io.sluice.limits.InvalidLimitsException invalid) {
        // Every reason, one per field, as the file and the channel give them.
        json(ctx, 400, new JsonObject().put("error", invalid.getMessage()).put("problems", new JsonArray(invalid.problems())));
      } else if (done.cause() instanceof AdminDeadline.Unfinished unfinished) {
        json(ctx, 503, new JsonObject().put("error", unfinished.getMessage()).put("maybeDone", unfinished.maybeDone()));
      } else {
        // The details go to the log only, under an id the answer carries.
        String id = UUID.randomUUID().toString().substring(0, 8);
        log.error("admin request {} {} failed (error id {})", ctx.request().method(), ctx.request().path(), id, done.cause());
        json(ctx, 500, new JsonObject().put("error", "internal error (error id " + id + ")"));
      }
    });
  }

  static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
  }
}
