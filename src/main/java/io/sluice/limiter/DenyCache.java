package io.sluice.limiter;

import io.sluice.limits.Rule;
import io.sluice.limits.TierChoice;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Refusals that are certain for a while, answered without Redis. When Redis denies a request of
 * cost c because the bucket holds fewer than c tokens, and says they will be there in t ms, then
 * until then every request of cost c or more is denied too, whatever else happens: other callers
 * only take tokens, and nothing adds them faster than the refill. So a hot key that keeps being
 * refused costs one Redis call per window per instance, not one per request.
 *
 * <p>Only rules without an abuse policy are cached: there every denial must reach Redis, which
 * counts it toward a ban. An entry holds only while the rule is the one it was made under (a
 * changed or throttled rule is not), and the whole cache is dropped when a Redis connection is lost,
 * since a Redis that comes back may have lost its buckets. Shared by every event loop of the process;
 * bounded by bytes ({@link LruBytes}): past its budget the least recently used users go (Redis then
 * refuses them again, once).
 */
public final class DenyCache {

  /**
   * Requests of at least {@code cost} tokens under {@code rule} are refused until {@code certainUntilNanos}:
   * when a bucket has the tokens again, or, for a fixed window, when the window ends.
   */
  private record Entry(Rule rule, long cost, long certainUntilNanos, boolean window, String tier, boolean byChoice) {
  }

  /** Per user, an immutable map from rule name to refusal: replaced whole on change. */
  private final LruBytes<String, Map<String, Entry>> byUser;
  /**
   * Bumped when a user's plan changed: a refusal whose check was sent before is not cached, since
   * its reply may have been decided under the old plan and come after the change was heard.
   */
  private final AtomicLong plansChanged = new AtomicLong();

  public DenyCache(long budgetBytes) {
    this.byUser = new LruBytes<>(budgetBytes);
  }

  /**
   * Remembers a refusal Redis made.
   *
   * @param sentNanos    when the check was sent to Redis, which decided after that: counting from it errs early
   * @param retryAfterMs what Redis answered, rounded up to the millisecond (so one is taken off)
   */
  void remember(String userId, Rule rule, long cost, long sentNanos, long retryAfterMs) {
    remember(userId, rule, cost, sentNanos, retryAfterMs, false, "", false);
  }

  /** How many plan changes were heard: a check captures it when sent, for {@link #rememberChosen}. */
  long plansChanged() {
    return plansChanged.get();
  }

  /**
   * The same, of a check whose plan the user's stored tier chose ({@code tier}, empty for none;
   * {@code rule} the one that decided): the cached answer names it. Not cached when a plan change was
   * heard since the check was sent ({@code plansChangedAtSend}).
   */
  void rememberChosen(String userId, Rule rule, long cost, long sentNanos, long retryAfterMs, String tier, long plansChangedAtSend) {
    if (plansChanged.get() != plansChangedAtSend) {
      return;
    }
    remember(userId, rule, cost, sentNanos, retryAfterMs, false, tier, true);
  }

  /**
   * A refusal of a check that read the user's override (and found none) under the plan its request
   * named: held for that very rule, as {@link #remember}, unless an override or plan changed since the
   * check was sent.
   */
  void rememberUnlessChanged(String userId, Rule rule, long cost, long sentNanos, long retryAfterMs, long plansChangedAtSend) {
    if (plansChanged.get() != plansChangedAtSend) {
      return;
    }
    remember(userId, rule, cost, sentNanos, retryAfterMs, false, "", false);
  }

  /**
   * Remembers a fixed window's refusal: every request of at least {@code cost} hits is refused
   * until the window ends, {@code windowEndsInMs} after Redis counted (whose reply is whole
   * milliseconds, rounded down: one is taken off, as for a bucket).
   */
  void rememberWindow(String userId, Rule rule, long cost, long sentNanos, long windowEndsInMs) {
    remember(userId, rule, cost, sentNanos, windowEndsInMs, true, "", false);
  }

  private void remember(String userId, Rule rule, long cost, long sentNanos, long retryAfterMs, boolean window, String tier,
                        boolean byChoice) {
    if (rule.abuse() != null || retryAfterMs <= 1) {
      return;
    }
    long certainUntil = sentNanos + TimeUnit.MILLISECONDS.toNanos(retryAfterMs - 1);
    Map<String, Entry> refusals = byUser.get(userId);
    Map<String, Entry> next;
    if (refusals == null) {
      next = Map.of(rule.name(), new Entry(rule, cost, certainUntil, window, tier, byChoice));
    } else {
      // Two event loops may race here; the loser's refusal is only not cached, and Redis makes it again.
      Map<String, Entry> copy = new HashMap<>(refusals);
      copy.put(rule.name(), new Entry(rule, cost, certainUntil, window, tier, byChoice));
      next = Map.copyOf(copy);
    }
    byUser.put(userId, next, bytesOf(userId, next.size()));
  }

  /** The refusal Redis would certainly make for this request now, or null when only Redis can tell. */
  Decision lookup(String userId, Rule rule, long cost, long nowNanos) {
    Map<String, Entry> refusals = byUser.get(userId);
    Entry entry = refusals == null ? null : refusals.get(rule.name());
    if (entry == null || !entry.rule.equals(rule)) {
      return null;
    }
    return refusal(entry, cost, nowNanos);
  }

  /** A refusal of a check whose plan the user's stored tier chose, and whether the plan that refused is in shadow mode. */
  record Chosen(Decision decision, boolean shadowRule) {
  }

  /**
   * The same for a check whose plan the user's stored tier chooses: only a refusal of such a check
   * holds (one whose request named its tier says nothing of the stored plan), made under one of the
   * plans of {@code choice}; a change of the stored tier makes every instance forget the user's
   * refusals ({@link #forgetUser}).
   */
  Chosen lookup(String userId, TierChoice choice, long cost, long nowNanos) {
    Map<String, Entry> refusals = byUser.get(userId);
    Entry entry = refusals == null ? null : refusals.get(choice.base().name());
    if (entry == null || !entry.byChoice || !(entry.rule.equals(choice.base()) || choice.rules().contains(entry.rule))) {
      return null;
    }
    Decision decision = refusal(entry, cost, nowNanos);
    return decision == null ? null : new Chosen(decision, entry.rule.shadow());
  }

  private static Decision refusal(Entry entry, long cost, long nowNanos) {
    if (cost < entry.cost) {
      return null;
    }
    Rule rule = entry.rule;
    long leftNanos = entry.certainUntilNanos - nowNanos;
    if (leftNanos <= 0) {
      return null;
    }
    double refill = rule.refillPerSecond();
    if (entry.window) {
      // A window refuses every request until it ends, and then starts from nothing.
      long endsInMs = ceilMs(leftNanos);
      return new Decision(Decision.Outcome.DENY, rule.name(), rule.capacity(), refill, 0, endsInMs, endsInMs, null, 0, 0, 0, "", "", null,
          entry.tier);
    }
    // The bucket holds `cost` tokens after leftNanos: what it holds now is that, less the refill meanwhile.
    double tokensNow = entry.cost - leftNanos / 1e9 * refill;
    return new Decision(Decision.Outcome.DENY, rule.name(), rule.capacity(), refill, TokenBucketMath.whole(tokensNow),
        // A refusal always waits: at least a millisecond, as the script never denies with nothing missing.
        Math.max(1, TokenBucketMath.msUntil(cost - tokensNow, refill)), TokenBucketMath.msUntil(rule.capacity() - tokensNow, refill),
        null, 0, 0, 0, "", "", null, entry.tier);
  }

  private static long ceilMs(double nanos) {
    return (long) Math.ceil(nanos / 1_000_000);
  }

  /**
   * Forgets the refusal of one user's bucket: tokens were given back to it (an all-or-nothing
   * CheckBatch), so a refusal that was certain may no longer be.
   */
  void forget(String userId, String ruleName) {
    Map<String, Entry> refusals = byUser.get(userId);
    if (refusals == null || !refusals.containsKey(ruleName)) {
      return;
    }
    if (refusals.size() == 1) {
      byUser.remove(userId);
      return;
    }
    Map<String, Entry> rest = new HashMap<>(refusals);
    rest.remove(ruleName);
    byUser.put(userId, Map.copyOf(rest), bytesOf(userId, rest.size()));
  }

  private static long bytesOf(String userId, int refusals) {
    return LruBytes.ENTRY_OVERHEAD_BYTES + LruBytes.stringBytes(userId) + refusals * (LruBytes.ENTRY_OVERHEAD_BYTES + 48L);
  }

  /** Forgets every refusal of one user: the plan stored for the user changed, and with it what is certain. */
  public void forgetUser(String userId) {
    plansChanged.incrementAndGet();
    byUser.remove(userId);
  }

  /** Forgets every refusal: Redis may have lost the buckets they were read from, or plan changes may have gone unheard. */
  public void clear() {
    plansChanged.incrementAndGet();
    byUser.clear();
  }

  /** Drops users whose refusals all ended; run now and then so that users who never return do not stay in memory. */
  public void sweep(long nowNanos) {
    byUser.removeIf((user, refusals) -> refusals.values().stream().allMatch(entry -> entry.certainUntilNanos - nowNanos <= 0));
  }

  /** Its memory, for metrics: estimated bytes held, the budget, and users dropped to stay within it. */
  public LruBytes<String, ?> memory() {
    return byUser;
  }

  /** How many users have a cached refusal. */
  public int size() {
    return byUser.size();
  }
}
