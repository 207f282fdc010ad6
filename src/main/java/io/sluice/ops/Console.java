package io.sluice.ops;

import io.sluice.security.AdminTokens;
import io.sluice.security.FailedLogins;
import io.sluice.telemetry.Metrics;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.io.IOException;
import java.io.InputStream;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The console at {@code /console} on the ops port: the admin API in a browser. Logging in with an
 * admin token makes a session on this instance (an HttpOnly, SameSite=Strict cookie naming it); the
 * session holds the token's name, never the token, and the token never appears in a URL, a page or a
 * log. Its API ({@code /console/api/...}) is the admin HTTP API, behind the session instead of the
 * bearer token, recorded in the audit trail as {@code via=console}; a change needs a header no
 * cross-site form can send and an origin of this page, so a forged cross-site request is refused.
 * Every page and asset ships in the jar, under a Content-Security-Policy that allows nothing else.
 * Used on the ops verticle's event loop only.
 */
final class Console {

  static final String COOKIE = "sluice_console";
  /** A change from the console carries it: a cross-site form cannot, and a cross-site script may not without a CORS answer it never gets. */
  static final String CHANGE_HEADER = "X-Sluice-Console";
  static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
  private static final int MAX_SESSIONS = 1000;
  private static final long IDLE_NANOS = TimeUnit.MINUTES.toNanos(30);
  private static final long LONGEST_NANOS = TimeUnit.HOURS.toNanos(12);
  private static final SecureRandom IDS = new SecureRandom();
  private static final Map<String, String> ASSET_TYPES = Map.of(
      "app.js", "text/javascript; charset=utf-8", "app.css", "text/css; charset=utf-8",
      "uPlot.iife.min.js", "text/javascript; charset=utf-8", "uPlot.min.css", "text/css; charset=utf-8");
  /** The charting library, from its WebJar (org.webjars.npm:uplot, the version the pom pins). */
  private static final String UPLOT = "/META-INF/resources/webjars/uplot/1.6.30/dist/";

  private record Session(String actor, long startedNanos, long seenNanos) {
  }

  private final AdminTokens tokens;
  private final java.util.List<String> origins;
  private final FailedLogins failedLogins;
  private final boolean tls;
  /** Sent over TLS only: when the instance serves TLS, or a proxy serves the console over https. */
  private final boolean secureCookie;
  private final Metrics metrics;
  /** Oldest seen first: past the bound, the one idle longest goes. */
  private final LinkedHashMap<String, Session> sessions = new LinkedHashMap<>(16, 0.75f, true);
  private final Buffer loginPage = resource("login.html");
  private final Buffer appPage = resource("app.html");
  private final Map<String, Buffer> assets = Map.of("app.js", resource("app.js"), "app.css", resource("app.css"),
      "uPlot.iife.min.js", classpath(UPLOT + "uPlot.iife.min.js"), "uPlot.min.css", classpath(UPLOT + "uPlot.min.css"));

  /**
   * @param origins      origins the console is also served from (a proxy's), besides its own host's
   * @param failedLogins wrong tokens per address, shared with the admin HTTP API
   */
  Console(AdminTokens tokens, boolean tls, Metrics metrics, java.util.List<String> origins, FailedLogins failedLogins) {
    this.origins = origins;
    this.failedLogins = failedLogins;
    this.tokens = tokens;
    this.tls = tls;
    this.secureCookie = tls || origins.stream().anyMatch(origin -> origin.startsWith("https://"));
    this.metrics = metrics;
  }

  void mount(Router router, AdminRoutes admin) {
    router.route("/console*").handler(this::securityHeaders);
    router.get("/console").handler(ctx -> {
      if (session(ctx) == null) {
        page(ctx, 401, loginPage, "");
      } else {
        page(ctx, 200, appPage, "");
      }
    });
    router.get("/console/assets/:file").handler(this::asset);
    router.post("/console/login").handler(BodyHandler.create().setBodyLimit(4096)).handler(this::login);
    router.post("/console/logout").handler(this::logout);
    admin.mount(router, "/console/api", this::authorize);
  }

  private void securityHeaders(RoutingContext ctx) {
    ctx.response()
        .putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "same-origin")
        .putHeader("X-Frame-Options", "DENY")
        .putHeader("Cache-Control", "no-store");
    ctx.next();
  }

  private void asset(RoutingContext ctx) {
    String file = ctx.pathParam("file");
    Buffer asset = assets.get(file);
    if (asset == null) {
      ctx.response().setStatusCode(404).end();
      return;
    }
    ctx.response().putHeader("Content-Type", ASSET_TYPES.get(file)).end(asset);
  }

  private void login(RoutingContext ctx) {
    if (!fromThisPage(ctx)) {
      refuseCrossSite(ctx);
      return;
    }
    long retryAfterMs = failedLogins.retryAfterMs(AdminRoutes.clientAddress(ctx, failedLogins), System.nanoTime());
    if (retryAfterMs > 0) {
      metrics.unauthenticated("console-guessing");
      ctx.response().putHeader("Retry-After", String.valueOf(FailedLogins.retryAfterSeconds(retryAfterMs)));
      page(ctx, 429, loginPage, "<p class=\"error\" id=\"login-error\">" + FailedLogins.tooManyWrongTokens(retryAfterMs) + ".</p>");
      return;
    }
    String token = ctx.request().getFormAttribute("token");
    String actor = token == null || token.isEmpty() ? null : tokens.actorOf("Bearer " + token.strip());
    if (actor == null) {
      if (token != null && !token.isBlank()) {
        failedLogins.failed(AdminRoutes.clientAddress(ctx, failedLogins), System.nanoTime());
      }
      metrics.unauthenticated("console");
      page(ctx, 401, loginPage, "<p class=\"error\" id=\"login-error\">That token opens no admin API of this fleet.</p>");
      return;
    }
    Cookie previous = ctx.request().getCookie(COOKIE);
    if (previous != null) {
      // A new session for every login: the one before ends, whoever holds its cookie.
      sessions.remove(previous.getValue());
    }
    byte[] id = new byte[32];
    IDS.nextBytes(id);
    String sessionId = HexFormat.of().formatHex(id);
    long now = System.nanoTime();
    sessions.put(sessionId, new Session(actor, now, now));
    Iterator<String> oldest = sessions.keySet().iterator();
    while (sessions.size() > MAX_SESSIONS) {
      oldest.next();
      oldest.remove();
    }
    ctx.response().addCookie(Cookie.cookie(COOKIE, sessionId).setPath("/console").setHttpOnly(true)
        .setSameSite(CookieSameSite.STRICT).setSecure(secureCookie));
    // After a POST, a GET: reloading the page does not send the token again.
    ctx.response().setStatusCode(303).putHeader("Location", "/console").end();
  }

  private void logout(RoutingContext ctx) {
    if (!fromThisPage(ctx)) {
      refuseCrossSite(ctx);
      return;
    }
    Cookie cookie = ctx.request().getCookie(COOKIE);
    if (cookie != null) {
      sessions.remove(cookie.getValue());
    }
    ctx.response().addCookie(Cookie.cookie(COOKIE, "").setPath("/console").setHttpOnly(true).setSameSite(CookieSameSite.STRICT)
        .setSecure(secureCookie).setMaxAge(0));
    ctx.response().setStatusCode(303).putHeader("Location", "/console").end();
  }

  /** The console's API: a live session, and for a change, proof that this page sent it. */
  private void authorize(RoutingContext ctx) {
    Session session = session(ctx);
    if (session == null) {
      metrics.unauthenticated("console");
      AdminRoutes.json(ctx, 401, new JsonObject().put("error", "log in at /console first"));
      return;
    }
    HttpMethod method = ctx.request().method();
    boolean change = method != HttpMethod.GET && method != HttpMethod.HEAD;
    if (change && (!"1".equals(ctx.request().getHeader(CHANGE_HEADER)) || !fromThisPage(ctx))) {
      refuseCrossSite(ctx);
      return;
    }
    ctx.put(AdminRoutes.ACTOR, session.actor());
    ctx.put(AdminRoutes.VIA, "console");
    ctx.next();
  }

  /** The live session the request's cookie names, touched; null when none (or it ended). */
  private Session session(RoutingContext ctx) {
    Cookie cookie = ctx.request().getCookie(COOKIE);
    if (cookie == null) {
      return null;
    }
    Session session = sessions.get(cookie.getValue());
    long now = System.nanoTime();
    if (session == null || now - session.seenNanos() > IDLE_NANOS || now - session.startedNanos() > LONGEST_NANOS) {
      sessions.remove(cookie.getValue());
      return null;
    }
    Session seen = new Session(session.actor(), session.startedNanos(), now);
    sessions.put(cookie.getValue(), seen);
    return seen;
  }

  /**
   * Whether the browser says this page sent the request: its Origin is this host's (browsers send
   * it with every POST), and Fetch Metadata, when sent, says same-origin.
   */
  private boolean fromThisPage(RoutingContext ctx) {
    String site = ctx.request().getHeader("Sec-Fetch-Site");
    if (site != null && !site.equals("same-origin") && !site.equals("none")) {
      return false;
    }
    String origin = ctx.request().getHeader("Origin");
    if (origin != null && origins.contains(origin.toLowerCase(java.util.Locale.ROOT))) {
      return true;
    }
    // The Host header, or HTTP/2's :authority. (Under a referrer policy of no-referrer, browsers would send "null".)
    io.vertx.core.net.HostAndPort authority = ctx.request().authority();
    return origin != null && authority != null
        && origin.equals((tls ? "https://" : "http://") + authority.host() + (authority.port() >= 0 ? ":" + authority.port() : ""));
  }

  private void refuseCrossSite(RoutingContext ctx) {
    metrics.unauthenticated("console-cross-site");
    AdminRoutes.json(ctx, 403, new JsonObject().put("error", "refused: this request did not come from the console's own page"));
  }

  private static void page(RoutingContext ctx, int status, Buffer page, String error) {
    ctx.response().setStatusCode(status).putHeader("Content-Type", "text/html; charset=utf-8")
        .end(error.isEmpty() ? page : Buffer.buffer(page.toString().replace("<!--error-->", error)));
  }

  private static Buffer resource(String name) {
    return classpath("/console/" + name);
  }

  private static Buffer classpath(String path) {
    try (InputStream in = Console.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("the jar lacks " + path);
      }
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + path, e);
    }
  }
}
