package io.sluice.client;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.util.function.Function;

/**
 * Vert.x Web middleware: asks Sluice before the route's own handler runs. The request goes on (its
 * {@link Verdict} in the context under {@link #VERDICT}, the RateLimit headers set) or is answered
 * 429, 403, or 400 when the application names no user.
 *
 * <pre>{@code
 * router.post("/login").handler(SluiceHandler.create(client, "login", ctx -> ctx.request().getHeader("X-User-Id")))
 *     .handler(ctx -> ctx.response().end("welcome back"));
 * }</pre>
 */
public final class SluiceHandler implements Handler<RoutingContext> {

  /** Where the verdict of a request that goes on is left for the handlers after this one. */
  public static final String VERDICT = "sluice.verdict";

  private final RateLimitClient client;
  private final String action;
  private final Function<RoutingContext, String> userOf;
  private final String howToSayWho;

  private SluiceHandler(RateLimitClient client, String action, Function<RoutingContext, String> userOf, String howToSayWho) {
    this.client = client;
    this.action = action;
    this.userOf = userOf;
    this.howToSayWho = howToSayWho;
  }

  /**
   * @param action what the route does, as Sluice's limits name it ({@code login})
   * @param userOf who the request is for; null or empty when the request does not say (answered 400)
   */
  public static SluiceHandler create(RateLimitClient client, String action, Function<RoutingContext, String> userOf) {
    return create(client, action, userOf, "the request names no user for action " + action);
  }

  /** @param howToSayWho what a 400 tells a request that names no user ("an X-User-Id header") */
  public static SluiceHandler create(RateLimitClient client, String action, Function<RoutingContext, String> userOf, String howToSayWho) {
    return new SluiceHandler(client, action, userOf, howToSayWho);
  }

  @Override
  public void handle(RoutingContext ctx) {
    String user = userOf.apply(ctx);
    if (user == null || user.isEmpty()) {
      answer(ctx.response(), HttpAnswer.noUser(howToSayWho));
      return;
    }
    client.check(user, action, 1).onComplete(done -> {
      if (done.failed()) {
        answer(ctx.response(), HttpAnswer.invalid(done.cause().getMessage()));
        return;
      }
      HttpAnswer answer = HttpAnswer.of(done.result());
      if (!answer.proceeds()) {
        answer(ctx.response(), answer);
        return;
      }
      answer.headers().forEach(ctx.response()::putHeader);
      ctx.put(VERDICT, done.result());
      ctx.next();
    });
  }

  private static void answer(HttpServerResponse response, HttpAnswer answer) {
    answer.headers().forEach(response::putHeader);
    response.setStatusCode(answer.status()).putHeader("Content-Type", "application/json").end(answer.body());
  }
}
