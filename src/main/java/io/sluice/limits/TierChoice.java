package io.sluice.limits;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * What a check may be decided under, by what operators stored for the user: the action's rule (or
 * the plan the request named), each tier whose rule for the action differs from it, and the user's
 * override of the rule's numbers. lua/token_bucket.lua chooses in the check's own call, so that
 * neither costs a second round trip.
 *
 * @param base            the rule without a plan (or the request's plan): it decides when the user has no stored tier, or one
 *                        that changes nothing here
 * @param tiers           the tiers whose rule for the action differs, each once; empty when the request named its tier
 * @param rules           their rules, in the order of {@code tiers}
 * @param tiersInForce    every tier of the limits: a stored tier among them is the plan an answer names, even where it changes nothing
 * @param readsStoredPlan the script reads the user's stored tier (the request named none)
 * @param readsOverride   the script reads the user's override of the rule (the rule is overridable)
 */
public record TierChoice(Rule base, List<String> tiers, List<Rule> rules, Set<String> tiersInForce, boolean readsStoredPlan,
                         boolean readsOverride) {

  /** Candidates of one choice, the base included: the script reads their count as one digit. */
  public static final int MAX_CANDIDATES = 9;

  /** The rule a stored tier (empty for none) decides under. */
  public Rule ruleOf(String storedTier) {
    int at = tiers.indexOf(storedTier);
    return at < 0 ? base : rules.get(at);
  }

  /** The plan an answer names for a stored tier: the tier when it is one of the limits in force, else none. */
  public String planOf(String storedTier) {
    return tiersInForce.contains(storedTier) ? storedTier : "";
  }

  /** The same choice with each adaptive rule changed alike (by the throttle factor); itself when none is adaptive. */
  public TierChoice map(UnaryOperator<Rule> each) {
    if (!base.adaptive() && rules.stream().noneMatch(Rule::adaptive)) {
      return this;
    }
    List<Rule> changed = new ArrayList<>(rules.size());
    for (Rule rule : rules) {
      changed.add(each.apply(rule));
    }
    return new TierChoice(each.apply(base), tiers, changed, tiersInForce, readsStoredPlan, readsOverride);
  }

  /** The most one check may cost: what the largest of the plans holds; for an overridable rule, what an override may hold. */
  public long largestCapacity() {
    if (readsOverride) {
      return LimitsParser.MAX_CAPACITY;
    }
    long largest = base.capacity();
    for (Rule rule : rules) {
      largest = Math.max(largest, rule.capacity());
    }
    return largest;
  }
}
