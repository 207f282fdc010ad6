package io.sluice.limiter;

import io.sluice.limits.AbusePolicy;
import io.sluice.limits.Rule;
import io.sluice.limits.TierChoice;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class DenyCacheTest {

  private static final long MS = 1_000_000;
  /** 10 tokens, one every 100 ms. */
  private static final Rule RULE = new Rule("api", 10, 10);

  private final DenyCache cache = new DenyCache(1 << 20);

  @Test
  void aRefusalHoldsForRequestsAtLeastAsLargeUntilTheTokensAreThere() {
    // Sent at 0; Redis answered DENY for 3 tokens, there in 250 ms.
    cache.remember("u", RULE, 3, 0, 250);
    Decision same = cache.lookup("u", RULE, 3, 100 * MS);
    assertEquals(Decision.Outcome.DENY, same.outcome());
    assertEquals(149, same.retryAfterMs(), "249 ms certain, 100 gone");
    assertEquals(1, same.remaining(), "3 tokens in 149 ms at 10/s: about 1.5 now");
    assertEquals(849, same.resetAfterMs(), "then 7 more tokens to full: 700 ms");
    assertEquals(349, cache.lookup("u", RULE, 5, 100 * MS).retryAfterMs(), "2 tokens more: 200 ms more");

    assertNull(cache.lookup("u", RULE, 2, 100 * MS), "a smaller request may pass: only Redis can tell");
    assertNull(cache.lookup("u", RULE, 3, 249 * MS), "no longer certain");
    assertNull(cache.lookup("v", RULE, 3, 100 * MS), "another user");
  }

  @Test
  void onlyTheRuleItWasMadeUnderAndNeverOneThatCountsViolations() {
    cache.remember("u", RULE, 1, 0, 1000);
    assertNull(cache.lookup("u", new Rule("api", 20, 10), 1, MS), "the rule changed");
    assertNull(cache.lookup("u", RULE.throttled(0.5), 1, MS), "the rule is throttled");
    assertThat(cache.lookup("u", new Rule("api", 10, 10), 1, MS)).as("an equal rule from a later snapshot").isNotNull();

    Rule withAbuse = new Rule("login", 1, 1, new AbusePolicy(3, 60_000, 60_000, 2, 3_600_000, 86_400_000, AbusePolicy.Scope.ACTION),
        false, false, null);
    cache.remember("u", withAbuse, 1, 0, 1000);
    assertNull(cache.lookup("u", withAbuse, 1, MS), "every denial must reach Redis to count toward a ban");

    cache.remember("w", RULE, 1, 0, 1);
    assertNull(cache.lookup("w", RULE, 1, 0), "a refusal of a millisecond or less is not worth keeping");
  }

  @Test
  void clearedAndSweptEntriesAreGone() {
    cache.remember("u", RULE, 1, 0, 1000);
    cache.remember("v", RULE, 1, 0, 10);
    cache.sweep(100 * MS);
    assertEquals(1, cache.size());
    cache.clear();
    assertNull(cache.lookup("u", RULE, 1, MS));
    assertEquals(0, cache.size());
  }

  @Test
  void aRefusalOfAStoredPlanHoldsOnlyForChecksThatLetTheStoredPlanChooseAndNotAcrossAPlanChange() {
    Rule gold = new Rule("api", 100, 50);
    TierChoice choice = new TierChoice(RULE, java.util.List.of("gold"), java.util.List.of(gold), java.util.Set.of("gold"), true, false);
    long before = cache.plansChanged();
    cache.rememberChosen("u", gold, 1, 0, 1000, "gold", before);
    DenyCache.Chosen chosen = cache.lookup("u", choice, 1, MS);
    assertThat(chosen).isNotNull();
    assertEquals("gold", chosen.decision().tier(), "the cached answer names the plan");
    assertEquals(100, chosen.decision().limit(), "and has its numbers");

    cache.remember("v", RULE, 1, 0, 1000);
    assertNull(cache.lookup("v", choice, 1, MS), "a request that named its tier says nothing of the stored plan");

    cache.forgetUser("u");
    assertNull(cache.lookup("u", choice, 1, MS), "a plan change forgets the user's refusals");
    cache.rememberChosen("u", gold, 1, 0, 1000, "gold", before);
    assertNull(cache.lookup("u", choice, 1, MS), "a reply of a check sent before the change is not cached");
  }
}
