package io.sluice.limiter;

/**
 * The answer to one check.
 *
 * @param outcome       what the backend should do
 * @param rule          the rule that decided
 * @param limit         the rule's capacity
 * @param remaining     whole tokens left after this request
 * @param retryAfterMs  0 when allowed; else how long until the request could succeed
 * @param resetAfterMs  how long until the bucket is full again
 * @param degraded      Redis could not be asked, and the configured failure mode answered
 */
public record Decision(
    Outcome outcome,
    String rule,
    long limit,
    long remaining,
    long retryAfterMs,
    long resetAfterMs,
    boolean degraded) {

  public enum Outcome { ALLOW, DENY, BAN }

  /** The answer when Redis could not be asked: only the failure mode and the rule are known. */
  public static Decision degraded(Outcome outcome, String rule, long limit) {
    return new Decision(outcome, rule, limit, 0, 0, 0, true);
  }
}
