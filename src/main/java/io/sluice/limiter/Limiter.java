package io.sluice.limiter;

import io.sluice.config.FailureMode;
import io.sluice.config.Settings;
import io.sluice.limits.Limits;
import io.sluice.limits.LimitsParser;
import io.sluice.limits.Names;
import io.sluice.limits.Rule;
import io.sluice.limits.TierChoice;
import io.sluice.redis.RedisFault;
import io.sluice.redis.RedisFaults;
import io.sluice.redis.RedisKeys;
import io.sluice.redis.RedisPipelines;
import io.sluice.redis.Unavailable;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Decides one check, as policy: validates it, reads the limits snapshot once, answers listed users,
 * cached bans and certain refusals locally, and otherwise hands it to the {@link CheckStore}, which
 * runs ban check, token bucket and abuse counting in Redis in one EVALSHA. When Redis is
 * unavailable the rule's failure mode answers, marked degraded; nothing else ever makes up an
 * answer. Non-blocking; one instance per gRPC verticle (event loop). It speaks to Redis only
 * through the store. Above 400 lines because one check's policy has four ways to end (lists,
 * caches, Redis's reply, a failure mode) and batches and Envoy subjects go through the same ones.
 */
public final class Limiter {

  /** Its own logger, so that operators can route or silence would-block lines apart from the rest. */
  private static final Logger shadowLog = LoggerFactory.getLogger("sluice.shadow");

  private final Supplier<Limits> limits;
  private final BanCache banCache;
  private final DenyCache denyCache;
  private final FailureMode defaultFailureMode;
  private final long redisTimeoutNanos;
  private final boolean shadowSetting;
  private final Metrics metrics;
  private final ThrottleFactors throttle;
  private final LocalBuckets localBuckets;
  private final FleetSize fleet;
  private final RedisFaults faults;
  private final CheckStore store;
  private final Leases leases;
  private final Adjustments adjustments;
  /**
   * Now, as the caches and local buckets read it ({@link System#nanoTime()} in service; a test's to
   * see expiry and refill without waiting). Deadlines and Redis timeouts read the JVM's clock.
   */
  private final LongSupplier clock;
  /** The bans this event loop's checks made, kept for operators after they expire. */
  private final BanLog banLog;

  public Limiter(RedisPipelines redis, CheckScripts scripts, Supplier<Limits> limits, BanCache banCache, DenyCache denyCache, Settings settings,
                 Metrics metrics,
                 ThrottleFactors throttle, LocalBuckets localBuckets, FleetSize fleet, RedisFaults faults, LongSupplier clock,
                 QuotaClock quotaClock, BanLog banLog) {
    this.banLog = banLog;
    this.limits = limits;
    this.banCache = banCache;
    this.denyCache = denyCache;
    this.defaultFailureMode = settings.failureMode();
    this.redisTimeoutNanos = TimeUnit.MILLISECONDS.toNanos(settings.redis().timeoutMs());
    this.shadowSetting = settings.shadow();
    this.metrics = metrics;
    this.throttle = throttle;
    this.localBuckets = localBuckets;
    this.fleet = fleet;
    this.faults = faults;
    this.clock = clock;
    this.store = new CheckStore(redis, scripts, metrics, faults, redisTimeoutNanos, !settings.redis().cluster(), quotaClock);
    this.leases = new Leases(store, this::choiceOf, limits, defaultFailureMode, shadowSetting, metrics, faults);
    this.adjustments = new Adjustments(store, this::choiceOf, limits, metrics, faults, denyCache);
  }

  /** Concurrency limits: leases acquired and released, under the same limits, store and failure policy. */
  public Leases leases() {
    return leases;
  }

  /** Settled costs: what the work really cost, taken from or given back to the bucket and quota it was checked against. */
  public Adjustments adjustments() {
    return adjustments;
  }

  /** The most checks one CheckBatch call may hold. */
  public static final int MAX_BATCH = 100;

  /** One check as asked: {@code cost} 0 means 1; {@code tier} empty for none; {@code acquire} takes a concurrency lease too. */
  public record Request(String userId, String action, long cost, String tier, boolean acquire) {

    public Request(String userId, String action, long cost, String tier) {
      this(userId, action, cost, tier, false);
    }

    /** The tokens it takes. */
    public long tokens() {
      return tokensFor(cost);
    }
  }

  /**
   * What a batch decided: one decision per check, in order, and which checks gave their tokens back
   * (all or nothing, and another check was refused).
   */
  public record BatchOutcome(List<Decision> decisions, boolean[] givenBack) {
  }

  private static long tokensFor(long cost) {
    return cost == 0 ? 1 : cost;
  }

  /**
   * A check that passed validation, under the limits snapshot it was validated against; {@code choice}
   * the plans the user's stored tier chooses among (null when the request names its tier, or no
   * tier changes the rule).
   */
  private record Valid(String userId, String action, long tokens, Rule nominal, TierChoice choice, Limits snapshot, boolean acquire) {
  }

  /**
   * @param cost                tokens to take; 0 means 1
   * @param callerDeadlineNanos when the caller stops waiting ({@link System#nanoTime()}); {@link Long#MAX_VALUE} for never
   * @param tier                empty for none, else a tier of the limits in force (else INVALID_ARGUMENT)
   * @return the decision; or a failed future with {@link InvalidRequestException} for bad input, or
   *     {@link CheckFailure} when no decision could be made
   */
  public Future<Decision> check(String userId, String action, long cost, String tier, long callerDeadlineNanos) {
    return check(new Request(userId, action, cost, tier), callerDeadlineNanos);
  }

  /** The same, as asked: {@link Request#acquire} takes one of the rule's concurrency slots in the same script call. */
  public Future<Decision> check(Request request, long callerDeadlineNanos) {
    Valid check;
    try {
      check = validate("", limits.get(), request);
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    return decide(check, callerDeadlineNanos);
  }

  /**
   * Several checks decided together, under one limits snapshot. Every check is validated before any
   * is decided, so a batch with one bad check changes nothing. The checks that go to Redis leave in
   * the same event-loop turn, so they share one write: one round trip for the batch. With
   * {@code allOrNothing}, when a check is refused (or fails), those that took tokens give them back
   * before the batch is answered.
   */
  public Future<BatchOutcome> checkBatch(List<Request> requests, boolean allOrNothing, long callerDeadlineNanos) {
    List<Valid> checks = new ArrayList<>(requests.size());
    try {
      if (requests.isEmpty() || requests.size() > MAX_BATCH) {
        throw new InvalidRequestException("checks", "checks must hold 1 to " + MAX_BATCH + " checks, was " + requests.size());
      }
      Limits snapshot = limits.get();
      for (int i = 0; i < requests.size(); i++) {
        Request request = requests.get(i);
        checks.add(validate("checks[" + i + "].", snapshot, request));
      }
    } catch (InvalidRequestException e) {
      return Future.failedFuture(e);
    }
    List<Future<Decision>> answers = new ArrayList<>(checks.size());
    inOneWrite(() -> {
      for (Valid check : checks) {
        answers.add(decide(check, callerDeadlineNanos));
      }
    });
    return Future.join(answers).transform(joined -> {
      boolean[] givenBack = new boolean[checks.size()];
      boolean refused = false;
      boolean failed = false;
      for (Future<Decision> answer : answers) {
        refused |= answer.failed() || answer.result().blocks();
        failed |= answer.failed();
      }
      // A batch that fails answers no check (a cost the user's stored plan cannot hold, a shed or faulted
      // call): what its other checks took is given back, atomic or not, since nobody is told of it.
      if (!failed && (!allOrNothing || !refused)) {
        return outcome(answers, givenBack);
      }
      List<Future<Void>> givingBack = new ArrayList<>();
      inOneWrite(() -> {
        for (int i = 0; i < checks.size(); i++) {
          Future<Decision> answer = answers.get(i);
          if (answer.succeeded() && tookRedisTokens(answer.result())) {
            givenBack[i] = true;
            givingBack.add(giveBack(checks.get(i), answer.result(), callerDeadlineNanos));
          }
          if (answer.succeeded() && answer.result().lease() != null && !answer.result().lease().leaseId().isEmpty()) {
            // The refused batch holds no slot either: nobody is given this lease to release.
            givingBack.add(leases.releaseUnheld(answer.result().lease().leaseId()));
            answers.set(i, Future.succeededFuture(answer.result().leaseGivenBack()));
          }
        }
      });
      return Future.join(givingBack).transform(done -> outcome(answers, givenBack));
    });
  }

  /** Runs {@code checks}: the ones that go to Redis leave in one write per connection, one round trip for all. */
  public void inOneWrite(Runnable checks) {
    store.inOneWrite(checks);
  }

  private static Future<BatchOutcome> outcome(List<Future<Decision>> answers, boolean[] givenBack) {
    List<Decision> decisions = new ArrayList<>(answers.size());
    for (int i = 0; i < answers.size(); i++) {
      Future<Decision> answer = answers.get(i);
      if (answer.failed()) {
        // Bad input found in Redis (a cost the stored plan cannot hold) names its check, as validation does.
        return Future.failedFuture(answer.cause() instanceof InvalidRequestException bad && !bad.field().startsWith("checks[")
            ? new InvalidRequestException("checks[" + i + "]." + bad.field(), "checks[" + i + "]." + bad.getMessage()) : answer.cause());
      }
      decisions.add(answer.result());
    }
    return Future.succeededFuture(new BatchOutcome(decisions, givenBack));
  }

  /** Whether Redis took tokens for this decision: a real ALLOW, not a listed user's, a failure mode's or shadow mode's. */
  private static boolean tookRedisTokens(Decision decision) {
    return decision.outcome() == Decision.Outcome.ALLOW && !decision.degraded() && decision.shadowDecision() == null
        && !Decision.ALLOWLIST_RULE.equals(decision.rule());
  }

  /**
   * Returns the tokens an allowed check took. When Redis cannot be asked in time they stay taken
   * (the bucket refills as usual): a batch never admits more for it, it may refuse a little more.
   */
  private Future<Void> giveBack(Valid check, Decision allowed, long callerDeadlineNanos) {
    // A refusal of this bucket cached meanwhile (the batch's own later check of it, say) was made
    // without these tokens; forgotten once Redis has them back, so the next check asks Redis.
    // Replies come in order, so a refusal sent before on this connection is cached by then.
    // The rule that decided: a stored plan's may have a quota the rule has not (the same key, by the rule's name).
    Rule decided = check.choice() != null && check.choice().readsStoredPlan() ? check.choice().ruleOf(allowed.tier()) : check.nominal();
    return store.giveBack(check.userId(), decided, allowed.limit(), check.tokens(), callerDeadlineNanos)
        .onComplete(givenBack -> denyCache.forget(check.userId(), check.nominal().name()));
  }

  private Valid validate(String fieldPrefix, Limits snapshot, Request request) {
    String userId = request.userId();
    String action = request.action();
    long cost = request.cost();
    Rule nominal = ruleOfValid(fieldPrefix, snapshot, userId, action, request.tier());
    TierChoice choice = choiceOf(snapshot, action, request.tier());
    if (request.acquire()) {
      requireConcurrency(fieldPrefix + "acquire", nominal, action, "");
      for (int i = 0; choice != null && i < choice.rules().size(); i++) {
        requireConcurrency(fieldPrefix + "acquire", choice.rules().get(i), action, choice.tiers().get(i));
      }
    }
    // Which plan a stored tier makes is known in Redis only: a cost any of them can hold is accepted
    // (a plan that holds less refuses it, as a bucket refuses what it does not have).
    long capacity = choice == null ? nominal.capacity() : choice.largestCapacity();
    long tokens = tokensFor(cost);
    if (tokens < 0 || tokens > capacity) {
      throw new InvalidRequestException(fieldPrefix + "cost", fieldPrefix + "cost must be from 0 to the capacity of rule '"
          + nominal.name() + "' (" + capacity + (choice == null ? "" : choice.readsOverride() ? ", of an override" : ", of its largest plan")
          + "), was " + Long.toUnsignedString(cost));
    }
    // A cost no period's quota can hold would wait forever; under a stored plan the script says so (too large).
    if (choice == null && nominal.quota() != null && tokens > nominal.quota().limit()) {
      throw new InvalidRequestException(fieldPrefix + "cost", fieldPrefix + "cost must be at most the quota of rule '" + nominal.name()
          + "' (" + nominal.quota().limit() + " per " + nominal.quota().period().wireName() + "), was " + tokens);
    }
    return new Valid(userId, action, tokens, nominal, choice, snapshot, request.acquire());
  }

  /** A check that acquires needs a slot to take: under its rule, and under every plan a stored tier may choose. */
  private static void requireConcurrency(String field, Rule rule, String action, String tier) {
    if (rule.concurrency() == null) {
      throw new InvalidRequestException(field, field + " needs a concurrency limit, and rule '" + rule.name() + "' (of action '"
          + LimitsParser.printable(action) + "'" + (tier.isEmpty() ? "" : ", on tier '" + tier + "'")
          + ") has none: give it \"concurrency\": {\"maxInFlight\", \"leaseSeconds\"} in the limits");
    }
  }

  /** The snapshot whose plans {@link #choices} holds: a check builds none of them (one Limiter per event loop). */
  private Limits choicesOf;
  /**
   * Each rule's choice under {@link #choicesOf}, by the request's tier and rule name; absent until
   * asked, null for a rule that nothing stored for a user can change.
   */
  private final Map<String, TierChoice> choices = new HashMap<>();

  private TierChoice choiceOf(Limits snapshot, String action, String tier) {
    if (snapshot != choicesOf) {
      choices.clear();
      choicesOf = snapshot;
    }
    Rule rule = snapshot.ruleFor(action);
    if (snapshot.tiers().isEmpty() && !rule.overridable()) {
      return null;
    }
    String key = tier.isEmpty() ? rule.name() : tier + '\u0000' + rule.name();
    TierChoice choice = choices.get(key);
    if (choice == null && !choices.containsKey(key)) {
      choice = snapshot.choiceFor(action, tier);
      choices.put(key, choice);
    }
    return choice;
  }

  private Future<Decision> decide(Valid check, long callerDeadlineNanos) {
    String userId = check.userId();
    String action = check.action();
    Limits snapshot = check.snapshot();
    Rule nominal = check.nominal();
    long tokens = check.tokens();
    Rule rule = throttled(nominal, action);
    if (snapshot.allowlist().contains(userId)) {
      return Future.succeededFuture(Decision.allowlisted(rule));
    }
    boolean shadowEverything = shadowSetting || snapshot.shadow();
    if (snapshot.denylist().contains(userId)) {
      return Future.succeededFuture(enforceOrShadow(Decision.denylisted(rule), shadowEverything, userId, action));
    }
    long now = System.nanoTime();
    long cacheNow = clock.getAsLong();
    // Keys, bans and local buckets are the rule's: every action without a rule of its own shares the
    // default rule's bucket, so a caller cannot gain tokens by making up action names.
    BanCache.Entry cached = banCache.lookup(userId, nominal.name(), cacheNow);
    if (cached != null) {
      metrics.banCacheHit();
      return Future.succeededFuture(enforceOrShadow(fromCache(rule, cached, cacheNow), shadowEverything, userId, action));
    }
    TierChoice choice = check.choice() == null ? null : check.choice().map(plan -> throttled(plan, action));
    Decision certain = certainRefusal(userId, action, rule, choice, tokens, shadowEverything, cacheNow);
    if (certain != null) {
      return Future.succeededFuture(certain);
    }
    PendingCheck pending = new PendingCheck(userId, action, rule, choice, tokens, shadowEverything, shadowEverything || rule.shadow(), now,
        cacheNow, check.acquire() ? Leases.leaseId(userId, nominal.name()) : null);
    store.take(pending, now, callerDeadlineNanos);
    return pending.promise.future();
  }

  /** What a subject that is not a user of the limits file has: no lists, no document-wide shadow. */
  private static final Limits NO_LISTS = new Limits(0, "subjects", Map.of(Limits.DEFAULT_RULE,
      new Rule(Limits.DEFAULT_RULE, 1, 1)));

  /**
   * A check of an Envoy descriptor's subject under the rule given, taking {@code tokens} (0 looks
   * without taking). Bans, certain refusals, failure modes and the shadow setting apply as to any
   * check, in the Envoy subjects' own keys and cache entries: no native user id reaches them
   * ({@link RedisKeys#envoySubject}).
   */
  public Future<Decision> checkSubject(String subject, Rule rule, long tokens, long callerDeadlineNanos) {
    return decide(new Valid(RedisKeys.envoySubject(subject), rule.name(), tokens, rule, null, NO_LISTS, false), callerDeadlineNanos);
  }

  /**
   * An Envoy descriptor's subject counted by {@code limit} (the fixed window, say): {@code hits} are
   * added (0 looks without adding). Certain refusals, failure modes and the shadow setting apply as
   * to any check; no bans, which belong to the token bucket's script.
   */
  public Future<Decision> count(ScriptedLimit limit, String envoySubject, Rule rule, long hits, long callerDeadlineNanos) {
    String subject = RedisKeys.envoySubject(envoySubject);
    boolean shadow = shadowSetting || rule.shadow();
    long now = System.nanoTime();
    long cacheNow = clock.getAsLong();
    Decision certain = certainRefusal(subject, rule.name(), rule, null, hits, shadow, cacheNow);
    if (certain != null) {
      return Future.succeededFuture(certain);
    }
    CountedCheck pending = new CountedCheck(limit, subject, rule, hits, shadow, now, cacheNow);
    store.count(limit, subject, rule, hits, now, callerDeadlineNanos, pending);
    return pending.promise.future();
  }

  /**
   * The refusal Redis gave this subject and rule (or one of its plans, {@code choice}) while it is
   * certain to hold, answered without Redis; else null. The rule that refused says whether it was in shadow.
   */
  private Decision certainRefusal(String subject, String action, Rule rule, TierChoice choice, long tokens, boolean shadowEverything,
                                  long now) {
    Decision certain;
    boolean shadowRule;
    if (choice == null || !choice.readsStoredPlan()) {
      // A plan the request named, or none: a refusal of that very rule (an override's is never cached).
      certain = denyCache.lookup(subject, rule, tokens, now);
      shadowRule = rule.shadow();
    } else {
      DenyCache.Chosen chosen = denyCache.lookup(subject, choice, tokens, now);
      certain = chosen == null ? null : chosen.decision();
      shadowRule = chosen != null && chosen.shadowRule();
    }
    if (certain == null) {
      return null;
    }
    metrics.denyCacheHit();
    return enforceOrShadow(certain, shadowEverything || shadowRule, subject, action);
  }

  /**
   * The rule that governs {@code action} on {@code tier}, once the user id, the action and the tier
   * are valid (else INVALID_ARGUMENT naming the field, after {@code fieldPrefix}). The tier's rule
   * keeps the rule's name: the same bucket, bans and caches, with the plan's numbers.
   */
  static Rule ruleOfValid(String fieldPrefix, Limits snapshot, String userId, String action, String tier) {
    requireName(fieldPrefix + "user_id", userId);
    requireName(fieldPrefix + "action", action);
    requireTier(fieldPrefix + "tier", snapshot, tier);
    return snapshot.ruleFor(action, tier);
  }

  /** Refuses a tier that is neither empty (none) nor a tier of {@code snapshot}, naming the field: never a silent default. */
  private static void requireTier(String field, Limits snapshot, String tier) {
    if (!tier.isEmpty() && !snapshot.tiers().containsKey(tier)) {
      requireName(field, tier);
      throw new InvalidRequestException(field, field + " '" + LimitsParser.printable(tier) + "' is not a tier of the limits in force ("
          + (snapshot.tiers().isEmpty() ? "they have none" : "tiers: " + String.join(", ", new java.util.TreeSet<>(snapshot.tiers().keySet())))
          + ")");
    }
  }

  /** Refuses a user id or action that is not a valid name, naming the field. */
  public static void requireName(String field, String value) {
    requireName(field, value, Names.MAX_BYTES);
  }

  /** The same, up to {@code maxBytes} (an Envoy subject's name is longer than a user id may be). */
  static void requireName(String field, String value, int maxBytes) {
    String problem = Names.problem(value, maxBytes);
    if (problem != null) {
      throw new InvalidRequestException(field, field + " " + problem);
    }
  }

  /**
   * An adaptive rule under a throttle factor m below 1 has capacity and refill scaled by m, so the
   * response's limit is the effective one. A request costing more than the throttled capacity is
   * refused as too large only against the rule's own capacity, and waits for the factor to recover.
   */
  private Rule throttled(Rule rule, String action) {
    if (!rule.adaptive()) {
      return rule;
    }
    double factor = throttle.factorFor(action);
    return factor >= 1 ? rule : rule.throttled(factor);
  }

  /**
   * Shadow mode answers ALLOW where enforcing would block, logs one line and counts it. A rule in
   * shadow never blocks on what it decided itself; a real ban (manual, or another rule's) still does,
   * unless the whole instance or limits set is in shadow.
   */
  private Decision enforceOrShadow(Decision decision, boolean shadow, String userId, String action) {
    if (!shadow || !decision.blocks()) {
      return decision;
    }
    shadowLog.info("would have blocked user={} action={} rule={} decision={}", RedisKeys.readable(userId), action, decision.rule(),
        decision.outcome());
    metrics.shadowWouldBlock(decision.rule(), decision.outcome().name());
    return decision.shadowed();
  }

  /** The answer of the rule's failure mode while Redis is unavailable; always marked degraded. */
  private Decision failureMode(PendingCheck pending, Unavailable why, long retryAfterMs) {
    Rule rule = pending.rule;
    FailureMode mode = rule.failureMode() != null ? rule.failureMode() : defaultFailureMode;
    metrics.degraded(why.label(), mode.wireName());
    Decision decision = switch (mode) {
      case OPEN -> Decision.degraded(Decision.Outcome.ALLOW, rule, why.label(), 0, 0, 0);
      case CLOSED -> Decision.degraded(Decision.Outcome.DENY, rule, why.label(), 0, retryAfterMs, 0);
      case LOCAL -> {
        // This instance's share of the limit: the fleet together allows about what one Redis bucket would.
        int instances = fleet.live();
        LocalBuckets.Take take = localBuckets.take(pending.userId, rule.name(), (double) rule.capacity() / instances,
            rule.refillPerSecond() / instances, pending.tokens, clock.getAsLong());
        yield Decision.degraded(take.allowed() ? Decision.Outcome.ALLOW : Decision.Outcome.DENY, rule, why.label(),
            take.remaining(), take.retryAfterMs(), take.resetAfterMs());
      }
    };
    return enforceOrShadow(decision, pending.shadowRule, pending.userId, pending.action);
  }

  /** The decision in the script's reply: of the plan the user's stored tier chose, when the script chose one. */
  private Decision fromReply(PendingCheck pending, TokenBucketScript.Reply reply) {
    Rule rule = pending.rule;
    boolean shadowRule = pending.shadowRule;
    String plan = "";
    if (reply.storedTier() != null && pending.choice != null && pending.choice.readsStoredPlan()) {
      rule = pending.choice.ruleOf(reply.storedTier());
      shadowRule = pending.shadowEverything || rule.shadow();
      plan = pending.choice.planOf(reply.storedTier());
    }
    if (reply.overridden()) {
      rule = rule.withNumbers(reply.overrideCapacity(), reply.overrideRefill());
    }
    int maxViolations = rule.abuse() == null ? 0 : rule.abuse().maxViolations();
    // A real ban is enforced even by a shadowed rule; everything else that rule decided itself.
    boolean shadow = reply.code() == TokenBucketScript.Reply.BAN ? pending.shadowEverything : shadowRule;
    rememberBan(pending, reply);
    // An override's refusal is not cached: it ends with the override, which tells no instance. Nor
    // a quota's rule's, whose answer says what is left of the period: only Redis knows. Nor a full
    // set of leases, which a release empties at any time.
    if (reply.code() == TokenBucketScript.Reply.DENY && !reply.overridden() && !reply.counted() && !reply.concurrencyRefused()) {
      if (pending.choice == null) {
        denyCache.remember(pending.userId, rule, pending.tokens, pending.cachedAtNanos, reply.retryAfterMs());
      } else if (!pending.choice.readsStoredPlan()) {
        denyCache.rememberUnlessChanged(pending.userId, rule, pending.tokens, pending.cachedAtNanos, reply.retryAfterMs(),
            pending.plansChangedAtSend);
      } else {
        denyCache.rememberChosen(pending.userId, rule, pending.tokens, pending.cachedAtNanos, reply.retryAfterMs(), plan,
            pending.plansChangedAtSend);
      }
    }
    Decision decision = new Decision(reply.outcome(), rule.name(), rule.capacity(), rule.refillPerSecond(), reply.remaining(),
        reply.retryAfterMs(), reply.resetAfterMs(), null, reply.violations(), maxViolations, reply.banLevel(), reply.banScope(),
        reply.banReason(), null, plan, reply.overridden(), reply.counted() && rule.quota() != null
        ? new Decision.Quota(rule.quota().limit(), reply.quotaRemaining(), reply.quotaResetAfterMs(), reply.quotaRefused()) : null,
        pending.leaseId == null || reply.inFlight() < 0 ? null : new Decision.Lease(reply.leaseGranted() ? pending.leaseId : "",
            reply.leaseGranted() ? rule.concurrency().leaseMs() : 0, reply.inFlight(), rule.concurrency().maxInFlight(),
            reply.concurrencyRefused()));
    return enforceOrShadow(decision, shadow, pending.userId, pending.action);
  }

  /** A ban this check met or made is cached; one it made is counted and logged, even when its answer came too late. */
  private void rememberBan(PendingCheck pending, TokenBucketScript.Reply reply) {
    if (reply.code() != TokenBucketScript.Reply.BAN) {
      return;
    }
    long lengthMs = reply.retryAfterMs();
    if (reply.banCreated()) {
      String user = RedisKeys.readable(pending.userId);
      String bannedAction = "user".equals(reply.banScope()) ? "" : pending.action;
      BansMade.record(metrics, pending.rule.name(), reply.banScope(), user, bannedAction, reply.banLevel(), lengthMs, reply.banReason());
      banLog.record(user, bannedAction, pending.rule.name(), reply.banScope(), reply.banLevel(), lengthMs, reply.violations(),
          reply.banReason());
    }
    BanCache.Entry entry = new BanCache.Entry(clock.getAsLong() + TimeUnit.MILLISECONDS.toNanos(lengthMs), reply.banLevel(),
        reply.banScope(), reply.banReason(), reply.violations());
    banCache.remember(pending.userId, "user".equals(reply.banScope()), pending.rule.name(), entry, pending.epoch);
  }

  private static Decision fromCache(Rule rule, BanCache.Entry ban, long nowNanos) {
    long remainingMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(ban.untilNanos() - nowNanos + 999_999));
    int maxViolations = rule.abuse() == null ? 0 : rule.abuse().maxViolations();
    return new Decision(Decision.Outcome.BAN, rule.name(), rule.capacity(), rule.refillPerSecond(), 0, remainingMs, 0, null,
        ban.violations(), maxViolations, ban.level(), ban.scope(), ban.reason(), null);
  }


  /** One check on its way through Redis, and every way it can end. */
  private class PendingCheck implements CheckStore.Waiting {
    final Promise<Decision> promise = Promise.promise();
    final String userId;
    final String action;
    final Rule rule;
    /** The plans the user's stored tier chooses among, null for the rule alone. */
    final TierChoice choice;
    final long tokens;
    final boolean shadowEverything;
    final boolean shadowRule;
    final long sentNanos;
    /** The same instant on the caches' clock: what a refusal this reply gives is cached from. */
    final long cachedAtNanos;
    /** The ban cache's epoch before Redis was asked: a ban lifted meanwhile must not come back from this reply. */
    final long epoch = banCache.epoch();
    /** The same of plan changes: a refusal decided under a plan changed meanwhile is not cached. */
    final long plansChangedAtSend = denyCache.plansChanged();
    /** A check that acquires: the id of the lease it takes if granted; else null. */
    final String leaseId;

    PendingCheck(String userId, String action, Rule rule, TierChoice choice, long tokens, boolean shadowEverything, boolean shadowRule,
        long sentNanos, long cachedAtNanos, String leaseId) {
      this.leaseId = leaseId;
      this.userId = userId;
      this.action = action;
      this.rule = rule;
      this.choice = choice;
      this.tokens = tokens;
      this.shadowEverything = shadowEverything;
      this.shadowRule = shadowRule;
      this.sentNanos = sentNanos;
      this.cachedAtNanos = cachedAtNanos;
    }

    @Override
    public String identity() {
      return userId;
    }

    @Override
    public Rule rule() {
      return rule;
    }

    @Override
    public long tokens() {
      return tokens;
    }

    @Override
    public boolean shadowRule() {
      return shadowRule;
    }

    @Override
    public boolean shadowEverything() {
      return shadowEverything;
    }

    @Override
    public TierChoice choice() {
      return choice;
    }

    @Override
    public String leaseSecret() {
      return leaseId == null ? null : Leases.secretOf(leaseId);
    }

    /** The decision in the script's reply; a cost the stored plan cannot hold is refused as bad input. */
    Decision read(Object[] reply) {
      TokenBucketScript.Reply decoded = TokenBucketScript.Reply.decode(reply);
      if (decoded.code() == TokenBucketScript.Reply.TOO_LARGE) {
        boolean stored = choice != null && choice.readsStoredPlan() && decoded.storedTier() != null
            && !choice.planOf(decoded.storedTier()).isEmpty();
        Rule decided = stored ? choice.ruleOf(decoded.storedTier()) : rule;
        if (decided.quota() != null && tokens > decided.quota().limit()) {
          throw new InvalidRequestException("cost", "cost must be at most the quota of rule '" + rule.name() + "'"
              + (stored ? " on the user's stored tier '" + choice.planOf(decoded.storedTier()) + "'" : "") + " ("
              + decided.quota().limit() + " per " + decided.quota().period().wireName() + "), was " + tokens);
        }
        long capacity = decoded.overridden() ? decoded.overrideCapacity() : decided.capacity();
        throw new InvalidRequestException("cost", "cost must be from 0 to the capacity of rule '" + rule.name() + "'"
            + (decoded.overridden() ? " of the user's override" : stored ? " on the user's stored tier '" + choice.planOf(decoded.storedTier()) + "'" : "")
            + " (" + capacity + "), was " + tokens);
      }
      return fromReply(this, decoded);
    }

    @Override
    public void onReply(Object reply) {
      metrics.redisCall(sentNanos);
      Decision decision;
      try {
        decision = read((Object[]) reply);
      } catch (InvalidRequestException e) {
        promise.fail(e);
        return;
      } catch (RuntimeException e) {
        if (leaseId != null) {
          leases.unheard(leaseId);
        }
        promise.fail(CheckFailure.fault(faults.record(RedisFault.REPLY, "cannot read a check reply: " + e)));
        return;
      }
      promise.complete(decision);
      // Any answer of Redis's on this loop gives back a few leases whose grant was not heard.
      leases.releaseUnheard();
    }

    @Override
    public void onUnavailable(Unavailable why, long retryAfterMs) {
      if (why != Unavailable.BREAKER_OPEN) {
        metrics.redisError(why.label());
      }
      if (leaseId != null) {
        leases.mayHaveRun(leaseId, why);
      }
      promise.complete(failureMode(this, why, retryAfterMs));
    }

    @Override
    public void onDeadline() {
      if (leaseId != null) {
        leases.unheard(leaseId);
      }
      metrics.shed("deadline");
      promise.fail(CheckFailure.deadline());
    }

    @Override
    public void onOverload() {
      metrics.shed("overload");
      promise.fail(CheckFailure.backlog());
    }

    @Override
    public void onFault(RedisFault fault, String incidentId) {
      if (leaseId != null) {
        // A script stopped by an error keeps what it wrote before it.
        leases.unheard(leaseId);
      }
      promise.fail(CheckFailure.fault(incidentId));
    }

    @Override
    public void onLateReply(Object reply) {
      try {
        TokenBucketScript.Reply decoded = TokenBucketScript.Reply.decode((Object[]) reply);
        rememberBan(this, decoded);
        if (leaseId != null) {
          // Granted after its caller stopped waiting: nobody holds its id, so its slot is given back now.
          leases.heardLate(leaseId, decoded.leaseGranted());
        }
      } catch (RuntimeException e) {
        faults.record(RedisFault.REPLY, "cannot read a late check reply: " + e);
      }
    }
  }

  /** A {@link ScriptedLimit}'s count on its way through Redis. */
  private final class CountedCheck extends PendingCheck {
    private final ScriptedLimit limit;

    CountedCheck(ScriptedLimit limit, String subject, Rule rule, long hits, boolean shadow, long sentNanos, long cachedAtNanos) {
      super(subject, rule.name(), rule, null, hits, shadow, shadow, sentNanos, cachedAtNanos, null);
      this.limit = limit;
    }

    @Override
    Decision read(Object[] raw) {
      ScriptedLimit.Counted counted = limit.read(raw, rule);
      if (counted.refusalHoldsMs() > 0) {
        denyCache.rememberWindow(userId, rule, tokens, cachedAtNanos, counted.refusalHoldsMs());
      }
      return enforceOrShadow(counted.decision(), shadowRule, userId, action);
    }

    @Override
    public void onLateReply(Object reply) {
      // A count's reply changes nothing that outlives the answer.
    }
  }
}
