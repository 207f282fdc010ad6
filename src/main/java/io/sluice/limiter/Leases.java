package io.sluice.limiter;

import io.sluice.config.FailureMode;
import io.sluice.limits.ConcurrencyPolicy;
import io.sluice.limits.Limits;
import io.sluice.limits.Rule;
import io.sluice.limits.TierChoice;
import io.sluice.redis.RedisFault;
import io.sluice.redis.RedisFaults;
import io.sluice.redis.RedisKeys;
import io.sluice.redis.ScriptCallback;
import io.sluice.redis.Unavailable;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.function.Supplier;

/**
 * Concurrency limits, as policy: RateLimiter/Acquire takes one of a user's slots of a rule's
 * {@code concurrency} (lua/concurrency.lua counts them in Redis, exact across the fleet), Release
 * gives it back, and a lease not released ends at its expiry. Lists, bans, shadow mode and failure
 * modes apply as to a check; Redis is spoken to only through the {@link CheckStore}. One per
 * Limiter, on its event loop.
 */
public final class Leases {

  /**
   * What Acquire answered.
   *
   * @param leaseId        empty when no slot is held (a listed user, shadow mode, a failure mode's ALLOW, a refusal)
   * @param retryAfterMs   DENY: until the user's earliest lease ends; BAN: until the ban ends
   * @param degradedReason why Redis could not decide and the rule's failure mode answered; null when Redis decided
   * @param shadow         shadow mode let through what enforcing would have refused
   * @param storedTier     the plan stored for the user that decided (read in the same call); empty for none, or when not read
   */
  public record Lease(Decision.Outcome outcome, String rule, String leaseId, long leaseMs, long retryAfterMs, long inFlight,
                      int maxInFlight, String degradedReason, boolean shadow, String storedTier) {

    Lease(Decision.Outcome outcome, String rule, String leaseId, long leaseMs, long retryAfterMs, long inFlight, int maxInFlight,
          String degradedReason, boolean shadow) {
      this(outcome, rule, leaseId, leaseMs, retryAfterMs, inFlight, maxInFlight, degradedReason, shadow, "");
    }

    public boolean degraded() {
      return degradedReason != null;
    }

    /** "concurrency" when the limit refused (or would have, in shadow mode); empty otherwise, and for a failure mode's answer. */
    public String limitedBy() {
      return !degraded() && (outcome == Decision.Outcome.DENY || shadow && inFlight >= maxInFlight) ? "concurrency" : "";
    }
  }

  /** What Release answered: whether the lease was held until now, and whether Redis could be asked. */
  public record Released(boolean released, boolean degraded) {
  }

  private static final String LEASE_PREFIX = "l1.";
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();
  /** The part of a lease id nobody can guess (so no caller ends another's lease): 128 bits, as 32 hex digits. */
  private static final int SECRET_BYTES = 16;
  private static final SecureRandom SECRETS = new SecureRandom();
  private static final java.util.regex.Pattern SECRET = java.util.regex.Pattern.compile("[0-9a-f]{" + SECRET_BYTES * 2 + "}");
  /** Its own logger, as the checks' would-block lines have. */
  private static final org.slf4j.Logger shadowLog = org.slf4j.LoggerFactory.getLogger("sluice.shadow");

  /** The plans a request of an action on a tier chooses among (Limiter's, kept per limits snapshot). */
  interface Plans {
    TierChoice choiceOf(Limits snapshot, String action, String tier);
  }

  /**
   * Leases an Acquire (or a check that acquires) may have been granted though its answer was not heard
   * (a deadline, a timeout, a dropped connection, a reply that could not be read): nobody holds their
   * ids, so they are released once Redis answers a lease call again, a few with each answer; a late
   * reply settles its own at once. Bounded: past it the oldest are left to end at their expiry.
   */
  static final int MAX_UNHEARD = 1000;
  private static final int UNHEARD_PER_ANSWER = 16;
  private final java.util.LinkedHashSet<String> unheard = new java.util.LinkedHashSet<>();

  private final CheckStore store;
  private final Plans plans;
  private final Supplier<Limits> limits;
  private final FailureMode defaultFailureMode;
  private final boolean shadowSetting;
  private final Metrics metrics;
  private final RedisFaults faults;

  Leases(CheckStore store, Plans plans, Supplier<Limits> limits, FailureMode defaultFailureMode, boolean shadowSetting, Metrics metrics,
         RedisFaults faults) {
    this.store = store;
    this.plans = plans;
    this.limits = limits;
    this.defaultFailureMode = defaultFailureMode;
    this.shadowSetting = shadowSetting;
    this.metrics = metrics;
    this.faults = faults;
  }

  /** A slot of the rule of {@code action} (on {@code tier}, empty for none), or its refusal. */
  public Future<Lease> acquire(String userId, String action, String tier, long callerDeadlineNanos) {
    Limits snapshot = limits.get();
    Rule rule;
    TierChoice choice;
    try {
      rule = Limiter.ruleOfValid("", snapshot, userId, action, tier);
      requireConcurrency(rule, action, "");
      // A request that names no plan takes the one stored for the user, read in the same script call.
      choice = tier.isEmpty() ? plans.choiceOf(snapshot, action, tier) : null;
      if (choice != null && !choice.readsStoredPlan()) {
        choice = null;
      }
      for (int i = 0; choice != null && i < choice.rules().size(); i++) {
        requireConcurrency(choice.rules().get(i), action, choice.tiers().get(i));
      }
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    ConcurrencyPolicy concurrency = rule.concurrency();
    if (snapshot.allowlist().contains(userId)) {
      return Future.succeededFuture(new Lease(Decision.Outcome.ALLOW, Decision.ALLOWLIST_RULE, "", 0, 0, 0, concurrency.maxInFlight(), null,
          false));
    }
    if (snapshot.denylist().contains(userId)) {
      // As for a check: only the instance's or the document's shadow lets a listed user through, not the rule's.
      return Future.succeededFuture(enforceOrShadow(new Lease(Decision.Outcome.BAN, Decision.DENYLIST_RULE, "", 0, 0, 0,
          concurrency.maxInFlight(), null, false), shadowSetting || snapshot.shadow(), userId));
    }
    String leaseId = leaseId(userId, rule.name());
    // The key names the owner: the set holds only each lease's secret, so that a long user id costs Redis nothing per lease.
    String member = secretOf(leaseId);
    String[] keys;
    Object[] args;
    if (choice == null) {
      keys = new String[] {RedisKeys.leases(userId, rule.name()), RedisKeys.ban(userId, ""), RedisKeys.ban(userId, rule.name())};
      args = new Object[] {"acquire", (long) concurrency.maxInFlight(), concurrency.leaseMs(), member};
    } else {
      keys = new String[] {RedisKeys.leases(userId, rule.name()), RedisKeys.ban(userId, ""), RedisKeys.ban(userId, rule.name()),
          RedisKeys.tier(userId)};
      args = new Object[4 + 3 * choice.tiers().size()];
      args[0] = "acquire";
      args[1] = (long) concurrency.maxInFlight();
      args[2] = concurrency.leaseMs();
      args[3] = member;
      for (int i = 0; i < choice.tiers().size(); i++) {
        ConcurrencyPolicy plan = choice.rules().get(i).concurrency();
        args[4 + 3 * i] = choice.tiers().get(i);
        args[5 + 3 * i] = (long) plan.maxInFlight();
        args[6 + 3 * i] = plan.leaseMs();
      }
    }
    TierChoice chosen = choice;
    Promise<Lease> answer = Promise.promise();
    long now = System.nanoTime();
    store.lease(keys, args, now, callerDeadlineNanos,
        new StoreAnswer<>(answer, metrics) {
          @Override
          public void onReply(Object reply) {
            metrics.redisCall(now);
            Lease lease;
            int code;
            Rule decided;
            try {
              Object[] fields = (Object[]) reply;
              code = ((Long) fields[0]).intValue();
              long count = (Long) fields[1];
              long ms = (Long) fields[2];
              String stored = chosen == null ? "" : (String) fields[3];
              decided = chosen == null ? rule : chosen.ruleOf(stored);
              int max = decided.concurrency().maxInFlight();
              String plan = chosen == null ? "" : chosen.planOf(stored);
              lease = switch (code) {
                case 1 -> new Lease(Decision.Outcome.ALLOW, rule.name(), leaseId, ms, 0, count, max, null, false, plan);
                case 0 -> new Lease(Decision.Outcome.DENY, rule.name(), "", 0, ms, count, max, null, false, plan);
                case 2 -> new Lease(Decision.Outcome.BAN, rule.name(), "", 0, ms, 0, max, null, false, plan);
                default -> throw new IllegalStateException("unknown lease code " + code);
              };
            } catch (RuntimeException e) {
              unheard(leaseId);
              answer.tryFail(CheckFailure.fault(faults.record(RedisFault.REPLY, "cannot read a lease reply: " + e)));
              return;
            }
            // The plan that decided says whether it is in shadow; a real ban blocks unless everything is in shadow.
            boolean shadowDecided = shadowSetting || snapshot.shadow() || (code != 2 && decided.shadow());
            answer.tryComplete(enforceOrShadow(lease, shadowDecided, userId));
            releaseUnheard();
          }

          @Override
          public void onDeadline() {
            unheard(leaseId);
            super.onDeadline();
          }

          @Override
          public void onFault(RedisFault fault, String incidentId) {
            // A script stopped by an error keeps what it wrote before it.
            unheard(leaseId);
            super.onFault(fault, incidentId);
          }

          @Override
          public void onLateReply(Object reply) {
            if (reply instanceof Object[] fields && fields.length > 0 && fields[0] instanceof Long code) {
              heardLate(leaseId, code == 1);
            }
          }

          @Override
          void unavailable(Unavailable why, long retryAfterMs) {
            mayHaveRun(leaseId, why);
            FailureMode mode = rule.failureMode() != null ? rule.failureMode() : defaultFailureMode;
            metrics.degraded(why.label(), mode.wireName());
            // No lease can be held without Redis: open and local let the work through unheld, closed refuses it.
            answer.tryComplete(mode == FailureMode.CLOSED
                ? new Lease(Decision.Outcome.DENY, rule.name(), "", 0, retryAfterMs, 0, concurrency.maxInFlight(), why.label(), false)
                : new Lease(Decision.Outcome.ALLOW, rule.name(), "", 0, 0, 0, concurrency.maxInFlight(), why.label(), false));
          }
        });
    return answer.future();
  }

  /** Ends the lease: its slot is free at once. */
  public Future<Released> release(String leaseId, long callerDeadlineNanos) {
    String[] owner = owner(leaseId);
    if (owner == null) {
      return Future.failedFuture(new InvalidRequestException("lease_id", "lease_id is not a lease Sluice granted, was '"
          + io.sluice.limits.LimitsParser.printable(leaseId.length() > 80 ? leaseId.substring(0, 80) + "..." : leaseId) + "'"));
    }
    Promise<Released> answer = Promise.promise();
    long now = System.nanoTime();
    store.lease(new String[] {RedisKeys.leases(owner[0], owner[1])}, new Object[] {"release", secretOf(leaseId)}, now,
        callerDeadlineNanos, new StoreAnswer<>(answer, metrics) {
          @Override
          public void onReply(Object reply) {
            metrics.redisCall(now);
            if (!(reply instanceof Long released)) {
              answer.tryFail(CheckFailure.fault(faults.record(RedisFault.REPLY, "cannot read a release reply: " + reply)));
              return;
            }
            answer.tryComplete(new Released(released == 1, false));
            releaseUnheard();
          }

          @Override
          void unavailable(Unavailable why, long retryAfterMs) {
            // Its caller hears degraded=true; the lease is released later rather than left to its expiry.
            unheard(leaseId);
            answer.tryComplete(new Released(false, true));
          }

          @Override
          public void onDeadline() {
            unheard(leaseId);
            super.onDeadline();
          }

          @Override
          public void onOverload() {
            unheard(leaseId);
            super.onOverload();
          }
        });
    return answer.future();
  }

  /** Acquire needs a slot to take: under its rule, and under every plan a stored tier may choose. */
  private static void requireConcurrency(Rule rule, String action, String tier) {
    if (rule.concurrency() == null) {
      throw new InvalidRequestException("action", "rule '" + rule.name() + "' (of action '" + action + "'"
          + (tier.isEmpty() ? "" : ", on tier '" + tier + "'")
          + ") has no concurrency limit: give it \"concurrency\": {\"maxInFlight\", \"leaseSeconds\"} in the limits");
    }
  }

  /**
   * A lease call that Redis was sent (or may have been) and did not answer: when it was an Acquire, its
   * lease may be held, and is released later. An open breaker, a failover or a busy Redis ran nothing.
   */
  void mayHaveRun(String leaseId, Unavailable why) {
    if (why == Unavailable.TIMEOUT || why == Unavailable.DISCONNECTED) {
      unheard(leaseId);
    }
  }

  /** A lease granted to a caller who was gone before its answer could be written: it is released now. */
  public void undelivered(String leaseId) {
    if (!leaseId.isEmpty()) {
      releaseUnheld(leaseId);
    }
  }

  /** A lease that may be held though its grant was not heard: it is released with the next lease calls Redis answers. */
  void unheard(String leaseId) {
    if (unheard.add(leaseId) && unheard.size() > MAX_UNHEARD) {
      unheard.remove(unheard.iterator().next());
    }
  }

  /** The reply to an unheard grant came after all: a lease granted is released now, one refused is settled. */
  void heardLate(String leaseId, boolean granted) {
    unheard.remove(leaseId);
    if (granted) {
      releaseUnheld(leaseId);
    }
  }

  /**
   * Redis answers again: a few of the leases whose grant was not heard are released. Stops at the
   * first that cannot be sent now (an open breaker answers at once): the rest wait for a later answer.
   */
  void releaseUnheard() {
    int before = unheard.size();
    for (int i = 0; i < UNHEARD_PER_ANSWER && i < before && !unheard.isEmpty(); i++) {
      String leaseId = unheard.iterator().next();
      unheard.remove(leaseId);
      releaseUnheld(leaseId);
      if (unheard.contains(leaseId)) {
        break;
      }
    }
  }

  /**
   * Ends a lease Redis granted (or may have) that nobody holds: its answer was not heard, or its batch
   * was refused whole. Waits for no caller's deadline; when Redis cannot be asked, or Sluice was too
   * busy to ask it, the lease is kept to be released later, and at worst ends at its expiry.
   */
  Future<Void> releaseUnheld(String leaseId) {
    String[] owner = owner(leaseId);
    Promise<Void> done = Promise.promise();
    // Not counted as calls or errors: the grant's own call was counted already.
    store.lease(new String[] {RedisKeys.leases(owner[0], owner[1])}, new Object[] {"release", secretOf(leaseId)}, System.nanoTime(),
        Long.MAX_VALUE, new ScriptCallback() {
          @Override
          public void onReply(Object released) {
            done.tryComplete();
          }

          @Override
          public void onUnavailable(Unavailable why, long retryAfterMs) {
            tryAgainLater();
          }

          @Override
          public void onDeadline() {
            tryAgainLater();
          }

          @Override
          public void onOverload() {
            tryAgainLater();
          }

          @Override
          public void onFault(RedisFault fault, String incidentId) {
            // Not kept: a release Redis refuses would be refused again; the lease ends at its expiry.
            done.tryComplete();
          }

          @Override
          public void onLateReply(Object reply) {
          }

          private void tryAgainLater() {
            unheard(leaseId);
            done.tryComplete();
          }
        });
    return done.future();
  }

  private Lease enforceOrShadow(Lease lease, boolean shadow, String userId) {
    if (!shadow || lease.outcome() == Decision.Outcome.ALLOW) {
      return lease;
    }
    shadowLog.info("would have blocked user={} rule={} decision={} (a lease)", RedisKeys.readable(userId), lease.rule(), lease.outcome());
    metrics.shadowWouldBlock(lease.rule(), lease.outcome().name());
    return new Lease(Decision.Outcome.ALLOW, lease.rule(), "", 0, lease.retryAfterMs(), lease.inFlight(), lease.maxInFlight(),
        lease.degradedReason(), true, lease.storedTier());
  }

  /** A lease names its owner, so that Release needs nothing else: {@code l1.<user>.<rule>.<secret>}, names in base64url. */
  static String leaseId(String userId, String rule) {
    byte[] secret = new byte[SECRET_BYTES];
    SECRETS.nextBytes(secret);
    return LEASE_PREFIX + ENCODER.encodeToString(userId.getBytes(StandardCharsets.UTF_8)) + '.'
        + ENCODER.encodeToString(rule.getBytes(StandardCharsets.UTF_8)) + '.' + HexFormat.of().formatHex(secret);
  }

  /** The lease's secret: its member in the owner's set. */
  static String secretOf(String leaseId) {
    return leaseId.substring(leaseId.lastIndexOf('.') + 1);
  }

  /** The user and rule a lease id names; null when it is not one. */
  static String[] owner(String leaseId) {
    if (!leaseId.startsWith(LEASE_PREFIX)) {
      return null;
    }
    String[] parts = leaseId.substring(LEASE_PREFIX.length()).split("\\.", -1);
    if (parts.length != 3 || !SECRET.matcher(parts[2]).matches()) {
      return null;
    }
    try {
      String user = new String(DECODER.decode(parts[0]), StandardCharsets.UTF_8);
      String rule = new String(DECODER.decode(parts[1]), StandardCharsets.UTF_8);
      // Only the spelling Sluice writes: another one of the same names is not an id it granted.
      boolean canonical = ENCODER.encodeToString(user.getBytes(StandardCharsets.UTF_8)).equals(parts[0])
          && ENCODER.encodeToString(rule.getBytes(StandardCharsets.UTF_8)).equals(parts[1]);
      return canonical && io.sluice.limits.Names.problem(user) == null && io.sluice.limits.Names.problem(rule) == null
          ? new String[] {user, rule} : null;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
