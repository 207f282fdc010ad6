package io.sluice.client;

import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;

/**
 * What a backend does with a request: go ahead ({@link Decision#ALLOW}), refuse it for now
 * ({@link Decision#DENY}: HTTP 429 with Retry-After) or refuse the banned user ({@link Decision#BAN}:
 * 403). Sluice's own answer, or, when no instance answered in time, the client's {@link Unreachable}
 * policy's, which {@link #answeredBySluice()} tells apart.
 *
 * @param response the instance's answer, every field of it; null when the policy answered
 * @param instance the target that answered ({@code host:port}); empty when the policy answered
 */
public record Verdict(Decision decision, long limit, long remaining, long retryAfterMs, long resetAfterMs, double refillPerSecond,
                      String rule, CheckResponse response, String instance) {

  static Verdict of(CheckResponse response, String instance) {
    return new Verdict(response.getDecision(), response.getLimit(), response.getRemaining(), response.getRetryAfterMs(),
        response.getResetAfterMs(), response.getRefillPerSecond(), response.getRule(), response, instance);
  }

  public boolean allowed() {
    return decision == Decision.ALLOW;
  }

  /** False when no instance answered within the deadline and the {@link Unreachable} policy decided. */
  public boolean answeredBySluice() {
    return response != null;
  }
}
