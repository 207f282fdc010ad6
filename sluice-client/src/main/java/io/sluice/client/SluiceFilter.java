package io.sluice.client;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/**
 * Jakarta Servlet middleware (Tomcat, Jetty, Spring MVC's filters): asks Sluice before the servlet
 * runs, waiting on the request's thread at most the client's deadline. The request goes on (its
 * {@link Verdict} as the request attribute {@link #VERDICT}, the RateLimit headers set) or is
 * answered 429, 403, or 400 when the application names no user.
 *
 * <pre>{@code
 * FilterRegistration.Dynamic login = servletContext.addFilter("sluice-login",
 *     new SluiceFilter(client, "login", request -> request.getHeader("X-User-Id")));
 * login.addMappingForUrlPatterns(null, false, "/login");
 * }</pre>
 */
public final class SluiceFilter implements Filter {

  /** The request attribute where the verdict of a request that goes on is left. */
  public static final String VERDICT = "sluice.verdict";

  private final RateLimitClient client;
  private final String action;
  private final Function<HttpServletRequest, String> userOf;

  /**
   * @param action what the filtered paths do, as Sluice's limits name it
   * @param userOf who the request is for; null or empty when the request does not say (answered 400)
   */
  public SluiceFilter(RateLimitClient client, String action, Function<HttpServletRequest, String> userOf) {
    this.client = client;
    this.action = action;
    this.userOf = userOf;
  }

  @Override
  public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
    // Once per request: a forward, an include, an error page or an async dispatch of it is not a second request.
    if (!(request instanceof HttpServletRequest http) || !(response instanceof HttpServletResponse answer)
        || request.getDispatcherType() != jakarta.servlet.DispatcherType.REQUEST) {
      chain.doFilter(request, response);
      return;
    }
    String user = userOf.apply(http);
    if (user == null || user.isEmpty()) {
      refuse(answer, HttpAnswer.noUser("the request names no user for action " + action));
      return;
    }
    Verdict verdict;
    try {
      verdict = client.checkAndWait(user, action, 1);
    } catch (RateLimitClient.InvalidCheckException invalid) {
      refuse(answer, HttpAnswer.invalid(invalid.getMessage()));
      return;
    }
    HttpAnswer decided = HttpAnswer.of(verdict);
    if (!decided.proceeds()) {
      refuse(answer, decided);
      return;
    }
    decided.headers().forEach(answer::setHeader);
    http.setAttribute(VERDICT, verdict);
    chain.doFilter(request, response);
  }

  private static void refuse(HttpServletResponse response, HttpAnswer answer) throws IOException {
    if (response.isCommitted()) {
      // Something before this filter answered already: nothing can be said now.
      return;
    }
    answer.headers().forEach(response::setHeader);
    response.setStatus(answer.status());
    response.setContentType("application/json");
    byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
  }
}
