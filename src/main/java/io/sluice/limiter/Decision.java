package io.sluice.limiter;

import io.sluice.limits.Rule;
import io.sluice.telemetry.Metrics;

/**
 * The answer to one check.
 *
 * @param outcome        what the backend should do
 * @param rule           the rule that decided ("allowlist" or "denylist" for listed users)
 * @param limit          the rule's capacity (throttled, for an adaptive rule)
 * @param refillPerSecond the rule's refill rate (throttled, for an adaptive rule)
 * @param remaining      whole tokens left after this request
 * @param retryAfterMs   0 when allowed; else how long until the request could succeed
 * @param resetAfterMs   how long until the bucket is full again
 * @param degradedReason why Redis could not decide and the rule's failure mode answered ({@code timeout},
 *                       {@code breaker_open}, ...); null when Redis decided
 * @param violations     denials counted toward a ban within the window
 * @param maxViolations  the denials that trigger a ban; 0 without an abuse policy
 * @param banLevel       BAN: the ban's place in its escalation (0 for manual and denylist bans)
 * @param banScope       BAN: "action" or "user"; else empty
 * @param banReason      BAN: why; else empty
 * @param shadowDecision what enforcing would have answered, when shadow mode let a blocked request through; else null
 * @param tier           the plan that decided: the request's, else the one stored for the user; empty for none
 * @param overridden     the user's override of the rule's numbers decided ({@code limit} and {@code refillPerSecond} are its)
 * @param quota          the rule's calendar quota as Redis counted it; null without one (or when Redis did not decide)
 * @param lease          the concurrency lease a check that acquires took with it; null for a check that acquires
 *                       none (or when Redis did not decide, or did not get so far: a listed user, a cached ban or refusal)
 */
public record Decision(
    Outcome outcome,
    String rule,
    long limit,
    double refillPerSecond,
    long remaining,
    long retryAfterMs,
    long resetAfterMs,
    String degradedReason,
    int violations,
    int maxViolations,
    int banLevel,
    String banScope,
    String banReason,
    Outcome shadowDecision,
    String tier,
    boolean overridden,
    Quota quota,
    Lease lease) {

  public enum Outcome { ALLOW, DENY, BAN }

  /**
   * A calendar quota, as the check left it.
   *
   * @param remaining    tokens left in the period
   * @param resetAfterMs until the period ends
   * @param refused      the quota refused the check (the bucket may have held it)
   */
  public record Quota(long limit, long remaining, long resetAfterMs, boolean refused) {
  }

  /**
   * A concurrency lease, as a check that acquires left it.
   *
   * @param leaseId  the lease held, for Release; empty when none is (refused, or given back)
   * @param inFlight the user's leases after the check, this one included
   * @param refused  every slot was held: the limit that refused (bucket and quota may have held the cost)
   */
  public record Lease(String leaseId, long leaseMs, long inFlight, int maxInFlight, boolean refused) {
  }

  /** A decision without a lease. */
  public Decision(Outcome outcome, String rule, long limit, double refillPerSecond, long remaining, long retryAfterMs, long resetAfterMs,
                  String degradedReason, int violations, int maxViolations, int banLevel, String banScope, String banReason,
                  Outcome shadowDecision, String tier, boolean overridden, Quota quota) {
    this(outcome, rule, limit, refillPerSecond, remaining, retryAfterMs, resetAfterMs, degradedReason, violations, maxViolations,
        banLevel, banScope, banReason, shadowDecision, tier, overridden, quota, null);
  }

  /** A decision without a quota. */
  public Decision(Outcome outcome, String rule, long limit, double refillPerSecond, long remaining, long retryAfterMs, long resetAfterMs,
                  String degradedReason, int violations, int maxViolations, int banLevel, String banScope, String banReason,
                  Outcome shadowDecision, String tier, boolean overridden) {
    this(outcome, rule, limit, refillPerSecond, remaining, retryAfterMs, resetAfterMs, degradedReason, violations, maxViolations,
        banLevel, banScope, banReason, shadowDecision, tier, overridden, null);
  }

  /** A decision of no plan (or of the request's, which its answer names). */
  public Decision(Outcome outcome, String rule, long limit, double refillPerSecond, long remaining, long retryAfterMs, long resetAfterMs,
                  String degradedReason, int violations, int maxViolations, int banLevel, String banScope, String banReason,
                  Outcome shadowDecision) {
    this(outcome, rule, limit, refillPerSecond, remaining, retryAfterMs, resetAfterMs, degradedReason, violations, maxViolations,
        banLevel, banScope, banReason, shadowDecision, "", false);
  }

  /** A decision under a plan ({@code tier}, empty for none), not of an override. */
  public Decision(Outcome outcome, String rule, long limit, double refillPerSecond, long remaining, long retryAfterMs, long resetAfterMs,
                  String degradedReason, int violations, int maxViolations, int banLevel, String banScope, String banReason,
                  Outcome shadowDecision, String tier) {
    this(outcome, rule, limit, refillPerSecond, remaining, retryAfterMs, resetAfterMs, degradedReason, violations, maxViolations,
        banLevel, banScope, banReason, shadowDecision, tier, false);
  }


  public static final String ALLOWLIST_RULE = "allowlist";
  public static final String DENYLIST_RULE = "denylist";

  /** An answer of the rule's failure mode, Redis being unavailable for {@code reason}. */
  public static Decision degraded(Outcome outcome, Rule rule, String reason, long remaining, long retryAfterMs, long resetAfterMs) {
    return new Decision(outcome, rule.name(), rule.capacity(), rule.refillPerSecond(), remaining, retryAfterMs, resetAfterMs, reason,
        0, 0, 0, "", "", null);
  }

  /** Whether the failure mode answered instead of Redis. */
  public boolean degraded() {
    return degradedReason != null;
  }

  /** An allowlisted user: never limited, Redis not asked. */
  public static Decision allowlisted(Rule rule) {
    return new Decision(Outcome.ALLOW, ALLOWLIST_RULE, rule.capacity(), rule.refillPerSecond(), rule.capacity(), 0, 0, null,
        0, 0, 0, "", "", null);
  }

  /** A denylisted user: banned with no end, Redis not asked. */
  public static Decision denylisted(Rule rule) {
    return new Decision(Outcome.BAN, DENYLIST_RULE, rule.capacity(), rule.refillPerSecond(), 0, 0, 0, null, 0, 0, 0, "user",
        DENYLIST_RULE, null);
  }

  public boolean blocks() {
    return outcome != Outcome.ALLOW;
  }

  /** This decision as shadow mode answers it: ALLOW, saying what it would have been. */
  public Decision shadowed() {
    return new Decision(Outcome.ALLOW, rule, limit, refillPerSecond, remaining, retryAfterMs, resetAfterMs, degradedReason, violations,
        maxViolations, banLevel, banScope, banReason, outcome, tier, overridden, quota, lease);
  }

  /** This decision with its lease given back (an all_or_nothing batch refused): it holds none. */
  public Decision leaseGivenBack() {
    return lease == null || lease.leaseId().isEmpty() ? this : new Decision(outcome, rule, limit, refillPerSecond, remaining, retryAfterMs,
        resetAfterMs, degradedReason, violations, maxViolations, banLevel, banScope, banReason, shadowDecision, tier, overridden, quota,
        new Lease("", 0, lease.inFlight() - 1, lease.maxInFlight(), false));
  }

  /**
   * The limit that refused (or would have, in shadow mode): {@code quota}, {@code concurrency} or {@code rate}; empty for
   * an ALLOW, a ban, and a failure mode's answer (its {@code degradedReason} says why).
   */
  public String limitedBy() {
    if (degraded() || (outcome != Outcome.DENY && shadowDecision != Outcome.DENY)) {
      return "";
    }
    if (quota != null && quota.refused()) {
      return "quota";
    }
    return lease != null && lease.refused() ? "concurrency" : "rate";
  }

  /** The {@code outcome} label this decision counts under in {@code sluice_decisions_total}. */
  public Metrics.Outcome metricOutcome() {
    if (degraded()) {
      return outcome() == Outcome.ALLOW ? Metrics.Outcome.DEGRADED_ALLOW : Metrics.Outcome.DEGRADED_DENY;
    }
    if (shadowDecision() != null) {
      return shadowDecision() == Outcome.BAN ? Metrics.Outcome.SHADOW_WOULD_BAN : Metrics.Outcome.SHADOW_WOULD_DENY;
    }
    return switch (outcome()) {
      case ALLOW -> Metrics.Outcome.ALLOW;
      case DENY -> Metrics.Outcome.DENY;
      case BAN -> Metrics.Outcome.BAN;
    };
  }
}
