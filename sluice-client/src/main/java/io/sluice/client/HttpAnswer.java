package io.sluice.client;

import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.vertx.core.json.JsonObject;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A verdict as the HTTP answer a user sees, the same from every middleware: the request goes on
 * (with the IETF {@code RateLimit} and {@code RateLimit-Policy} headers of
 * draft-ietf-httpapi-ratelimit-headers), or is answered 429 with {@code Retry-After}, or 403 for a
 * ban, with a JSON body that says why.
 *
 * @param status  0 when the request goes on; else the status to answer with
 * @param headers the headers to set, in either case
 * @param body    the JSON body of a refusal; null when the request goes on
 */
public record HttpAnswer(int status, Map<String, String> headers, String body) {

  /** Set on an answer that the {@link Unreachable} policy gave, because no Sluice instance answered in time. */
  public static final String STATUS_HEADER = "Sluice-Status";

  public static HttpAnswer of(Verdict verdict) {
    Map<String, String> headers = new LinkedHashMap<>();
    rateLimitHeaders(verdict, headers);
    if (!verdict.answeredBySluice()) {
      headers.put(STATUS_HEADER, "unavailable");
    }
    CheckResponse response = verdict.response() == null ? CheckResponse.getDefaultInstance() : verdict.response();
    return switch (verdict.decision()) {
      case DENY -> {
        headers.put("Retry-After", seconds(verdict.retryAfterMs()));
        yield new HttpAnswer(429, headers, new JsonObject().put("error", "too many requests").put("rule", verdict.rule())
            .put("retryAfterMs", verdict.retryAfterMs()).put("violations", response.getViolations())
            .put("maxViolations", response.getMaxViolations()).encode());
      }
      case BAN -> {
        if (response.getBanRemainingMs() > 0) {
          headers.put("Retry-After", seconds(response.getBanRemainingMs()));
        }
        yield new HttpAnswer(403, headers, new JsonObject().put("error", "banned").put("reason", response.getBanReason())
            .put("scope", response.getBanScope()).put("banRemainingMs", response.getBanRemainingMs())
            .put("banLevel", response.getBanLevel()).encode());
      }
      default -> new HttpAnswer(0, headers, null);
    };
  }

  /** The answer to a request whose user the application could not name. */
  public static HttpAnswer noUser(String how) {
    return new HttpAnswer(400, Map.of(), new JsonObject().put("error", "say who you are: " + how).encode());
  }

  /** The answer to a check Sluice refused as bad input (a user id over 256 bytes, say). */
  public static HttpAnswer invalid(String message) {
    return new HttpAnswer(400, Map.of(), new JsonObject().put("error", message).encode());
  }

  public boolean proceeds() {
    return status == 0;
  }

  /**
   * The bucket as the draft's fields: the policy's quota {@code q} is the capacity and its window
   * {@code w} the time to refill it from empty; {@code r} is what is left and {@code t} the seconds
   * until the bucket is full again. A ban gets the policy only: it does not read the bucket.
   */
  private static void rateLimitHeaders(Verdict verdict, Map<String, String> headers) {
    if (verdict.limit() == 0 || verdict.refillPerSecond() <= 0) {
      return;
    }
    String policy = "\"" + verdict.rule().replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    long windowSeconds = (long) Math.ceil(verdict.limit() / verdict.refillPerSecond());
    headers.put("RateLimit-Policy", policy + ";q=" + verdict.limit() + ";w=" + windowSeconds);
    if (verdict.decision() == Decision.BAN) {
      return;
    }
    long remaining = verdict.decision() == Decision.ALLOW ? verdict.remaining() : 0;
    headers.put("RateLimit", policy + ";r=" + remaining + ";t=" + seconds(verdict.resetAfterMs()));
  }

  /** Whole seconds, rounded up: a client that waits this long is never early. */
  static String seconds(long ms) {
    return String.format(Locale.ROOT, "%d", (ms + 999) / 1000);
  }
}
