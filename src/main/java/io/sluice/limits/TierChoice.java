package io.sluice.limits;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The plans a check that names no tier may be decided under: the action's rule, and each tier whose
 * rule for the action differs from it. lua/token_bucket.lua chooses among them by the tier stored for
 * the user, in the check's own call, so that a stored plan costs no second round trip.
 *
 * @param base         the rule without a plan: it decides when the user has no stored tier, or one that changes nothing here
 * @param tiers        the tiers whose rule for the action differs, each once
 * @param rules        their rules, in the order of {@code tiers}
 * @param tiersInForce every tier of the limits: a stored tier among them is the plan an answer names, even where it changes nothing
 */
public record TierChoice(Rule base, List<String> tiers, List<Rule> rules, Set<String> tiersInForce) {

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
    return new TierChoice(each.apply(base), tiers, changed, tiersInForce);
  }

  /** The most one check may cost: what the largest of the plans holds. */
  public long largestCapacity() {
    long largest = base.capacity();
    for (Rule rule : rules) {
      largest = Math.max(largest, rule.capacity());
    }
    return largest;
  }
}
