package io.sluice.limiter;

/**
 * The answer to one check.
 *
 * @param outcome        what the backend should do
 * @param rule           the rule that decided ("allowlist" or "denylist" for listed users)
 * @param limit          the rule's capacity
 * @param remaining      whole tokens left after this request
 * @param retryAfterMs   0 when allowed; else how long until the request could succeed
 * @param resetAfterMs   how long until the bucket is full again
 * @param degraded       Redis could not be asked, and the configured failure mode answered
 * @param violations     denials counted toward a ban within the window
 * @param maxViolations  the denials that trigger a ban; 0 without an abuse policy
 * @param banLevel       BAN: the ban's place in its escalation (0 for manual and denylist bans)
 * @param banScope       BAN: "action" or "user"; else empty
 * @param banReason      BAN: why; else empty
 * @param shadowDecision what enforcing would have answered, when shadow mode let a blocked request through; else null
 */
public record Decision(
    Outcome outcome,
    String rule,
    long limit,
    long remaining,
    long retryAfterMs,
    long resetAfterMs,
    boolean degraded,
    int violations,
    int maxViolations,
    int banLevel,
    String banScope,
    String banReason,
    Outcome shadowDecision) {

  public enum Outcome { ALLOW, DENY, BAN }

  public static final String ALLOWLIST_RULE = "allowlist";
  public static final String DENYLIST_RULE = "denylist";

  /** The answer when Redis could not be asked: only the failure mode and the rule are known. */
  public static Decision degraded(Outcome outcome, String rule, long limit) {
    return new Decision(outcome, rule, limit, 0, 0, 0, true, 0, 0, 0, "", "", null);
  }

  /** An allowlisted user: never limited, Redis not asked. */
  public static Decision allowlisted(long limit) {
    return new Decision(Outcome.ALLOW, ALLOWLIST_RULE, limit, limit, 0, 0, false, 0, 0, 0, "", "", null);
  }

  /** A denylisted user: banned with no end, Redis not asked. */
  public static Decision denylisted(long limit) {
    return new Decision(Outcome.BAN, DENYLIST_RULE, limit, 0, 0, 0, false, 0, 0, 0, "user", DENYLIST_RULE, null);
  }

  public boolean blocks() {
    return outcome != Outcome.ALLOW;
  }

  /** This decision as shadow mode answers it: ALLOW, saying what it would have been. */
  public Decision shadowed() {
    return new Decision(Outcome.ALLOW, rule, limit, remaining, retryAfterMs, resetAfterMs, degraded, violations,
        maxViolations, banLevel, banScope, banReason, outcome);
  }
}
