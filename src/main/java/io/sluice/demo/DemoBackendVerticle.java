package io.sluice.demo;

import io.sluice.config.Listening;
import io.sluice.grpc.ClientAccess;
import io.sluice.client.RateLimitClient;
import io.sluice.client.SluiceHandler;
import io.sluice.client.Unreachable;
import io.sluice.client.Verdict;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * "The main API" of the demo: an HTTP service that asks Sluice before it does any work, through the
 * client library's Vert.x Web middleware ({@link SluiceHandler}), which turns the answer into HTTP:
 * 200, 429 with {@code Retry-After}, or 403 while banned, each with the IETF {@code RateLimit} and
 * {@code RateLimit-Policy} headers (draft-ietf-httpapi-ratelimit-headers). When no instance answers
 * in time it serves anyway (the client's {@link Unreachable#allow()} policy), as Sluice's own
 * default failure mode does for Redis.
 */
public final class DemoBackendVerticle extends VerticleBase {

  private static final Logger log = LoggerFactory.getLogger(DemoBackendVerticle.class);
  /** Who the request is for: the header first, then {@code ?user=}, then the JSON body's {@code user}. */
  static final String USER_HEADER = "X-User-Id";

  private final String host;
  private final int port;
  private final List<SocketAddress> targets;
  private final ClientAccess access;
  private RateLimitClient sluice;
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
    List<String> names = targets.stream().map(target -> target.host() + ":" + target.port()).toList();
    sluice = RateLimitClient.builder(names).vertx(vertx).httpOptions(access.httpOptions()).whenUnreachable(Unreachable.allow()).build();
    Router router = Router.router(vertx);
    router.route().handler(BodyHandler.create().setBodyLimit(16 * 1024));
    router.post("/login").handler(limited("login")).handler(ctx -> served(ctx, names, "welcome back"));
    router.get("/search").handler(limited("search")).handler(ctx -> served(ctx, names, "here are your results"));
    router.post("/checkout").handler(limited("checkout")).handler(ctx -> served(ctx, names, "order placed"));
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
    return sluice.closeAsync();
  }

  private SluiceHandler limited(String action) {
    return SluiceHandler.create(sluice, action, DemoBackendVerticle::userOf,
        "an " + USER_HEADER + " header, ?user=, or {\"user\": ...} in the body");
  }

  /** The work itself, once the middleware let the request through. */
  private static void served(RoutingContext ctx, List<String> names, String work) {
    Verdict verdict = ctx.get(SluiceHandler.VERDICT);
    JsonObject body = new JsonObject().put("ok", true).put("message", work);
    if (verdict.answeredBySluice()) {
      ctx.response().putHeader("Sluice-Instance", String.valueOf(names.indexOf(verdict.instance())));
      body.put("user", userOf(ctx)).put("remaining", verdict.remaining());
    } else {
      log.warn("no sluice instance answered for {}; serving without a limit", ctx.request().path());
    }
    ctx.response().putHeader("Content-Type", "application/json").end(body.encode());
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
}
