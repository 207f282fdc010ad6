package io.sluice.demo;

import io.sluice.config.Listening;
import io.sluice.grpc.ClientAccess;
import io.sluice.grpc.FleetClient;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Locale;

/**
 * "The main API" of the demo: an HTTP service that asks Sluice before it does any work, and turns
 * the answer into HTTP: 200, 429 with {@code Retry-After}, or 403 while banned, each with the IETF
 * {@code RateLimit} and {@code RateLimit-Policy} headers (draft-ietf-httpapi-ratelimit-headers).
 */
public final class DemoBackendVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(DemoBackendVerticle.class);
  /** Who the request is for: the header first, then {@code ?user=}, then the JSON body's {@code user}. */
  static final String USER_HEADER = "X-User-Id";

  private final String host;
  private final int port;
  private final List<SocketAddress> targets;
  private final ClientAccess access;
  private FleetClient sluice;
  private int actualPort;

  public DemoBackendVerticle(String host, int port, List<SocketAddress> targets) {
    this(host, port, targets, ClientAccess.PLAIN);
  }

  /** @param access plain or TLS; checks never carry the token */
  public DemoBackendVerticle(String host, int port, List<SocketAddress> targets, ClientAccess access) {
    this.host = host;
    this.port = port;
    this.targets = List.copyOf(targets);
    this.access = access;
  }

  @Override
  public Future<?> start() {
    sluice = new FleetClient(vertx, targets, access);
    Router router = Router.router(vertx);
    router.route().handler(BodyHandler.create().setBodyLimit(16 * 1024));
    router.post("/login").handler(ctx -> guarded(ctx, "login", "welcome back"));
    router.get("/search").handler(ctx -> guarded(ctx, "search", "here are your results"));
    router.post("/checkout").handler(ctx -> guarded(ctx, "checkout", "order placed"));
    router.get("/health").handler(ctx -> ctx.response().end("ok"));
    return Listening.listen(vertx.createHttpServer().requestHandler(router), "demo backend HTTP", host, port, "--port")
        .onSuccess(server -> {
          actualPort = server.actualPort();
          log.info("demo backend on http://{}:{} asks sluice at {}", host, actualPort, targets);
        });
  }

  public int actualPort() {
    return actualPort;
  }

  @Override
  public Future<?> stop() {
    return sluice.close();
  }

  private void guarded(RoutingContext ctx, String action, String work) {
    String user = userOf(ctx);
    if (user == null || user.isEmpty()) {
      json(ctx.response().setStatusCode(400), new JsonObject()
          .put("error", "say who you are: an " + USER_HEADER + " header, ?user=, or {\"user\": ...} in the body"));
      return;
    }
    sluice.check(user, action, 1).onComplete(done -> {
      HttpServerResponse response = ctx.response();
      if (done.failed()) {
        // No instance answered: serve anyway, as Sluice's own default failure mode does for Redis.
        log.warn("no sluice instance answered for {}: {}; serving without a limit", action, done.cause().toString());
        json(response.putHeader("Sluice-Status", "unavailable"), new JsonObject().put("ok", true).put("message", work));
        return;
      }
      CheckResponse decision = done.result().response();
      rateLimitHeaders(response, decision);
      response.putHeader("Sluice-Instance", String.valueOf(done.result().instance()));
      switch (decision.getDecision()) {
        case DENY -> json(response.setStatusCode(429).putHeader("Retry-After", seconds(decision.getRetryAfterMs())),
            new JsonObject().put("error", "too many requests").put("rule", decision.getRule())
                .put("retryAfterMs", decision.getRetryAfterMs())
                .put("violations", decision.getViolations()).put("maxViolations", decision.getMaxViolations()));
        case BAN -> {
          if (decision.getBanRemainingMs() > 0) {
            response.putHeader("Retry-After", seconds(decision.getBanRemainingMs()));
          }
          json(response.setStatusCode(403), new JsonObject().put("error", "banned").put("reason", decision.getBanReason())
              .put("scope", decision.getBanScope()).put("banRemainingMs", decision.getBanRemainingMs())
              .put("banLevel", decision.getBanLevel()));
        }
        default -> json(response, new JsonObject().put("ok", true).put("message", work).put("user", user)
            .put("remaining", decision.getRemaining()));
      }
    });
  }

  private static String userOf(RoutingContext ctx) {
    String user = ctx.request().getHeader(USER_HEADER);
    if (user == null) {
      user = ctx.queryParams().get("user");
    }
    if (user == null && ctx.body() != null && ctx.body().length() > 0) {
      try {
        JsonObject body = ctx.body().asJsonObject();
        user = body == null ? null : body.getString("user");
      } catch (RuntimeException notJson) {
        return null;
      }
    }
    return user;
  }

  /**
   * The token bucket as the draft's fields: the policy's quota {@code q} is the capacity and its window
   * {@code w} the time to refill it from empty; {@code r} is what is left and {@code t} the seconds
   * until the bucket is full again. A ban gets the policy only.
   */
  static void rateLimitHeaders(HttpServerResponse response, CheckResponse decision) {
    if (decision.getLimit() == 0 || decision.getRefillPerSecond() <= 0) {
      return;
    }
    String policy = "\"" + decision.getRule().replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    long windowSeconds = (long) Math.ceil(decision.getLimit() / decision.getRefillPerSecond());
    response.putHeader("RateLimit-Policy", policy + ";q=" + decision.getLimit() + ";w=" + windowSeconds);
    if (decision.getDecision() == Decision.BAN) {
      // A ban does not read the bucket: there is no current quota to tell, only the policy.
      return;
    }
    long remaining = decision.getDecision() == Decision.ALLOW ? decision.getRemaining() : 0;
    response.putHeader("RateLimit", policy + ";r=" + remaining + ";t=" + seconds(decision.getResetAfterMs()));
  }

  /** Whole seconds, rounded up: a client that waits this long is never early. */
  static String seconds(long ms) {
    return String.format(Locale.ROOT, "%d", (ms + 999) / 1000);
  }

  private static void json(HttpServerResponse response, JsonObject body) {
    response.putHeader("Content-Type", "application/json").end(body.encode());
  }
}
