package io.sluice.limits;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An immutable snapshot of every rule in force. A request reads one snapshot and decides with it
 * alone; a reload replaces the snapshot whole.
 *
 * @param version  increases with every snapshot this process applies
 * @param source   where the snapshot came from (a file path, or a Redis channel)
 * @param rules    rules by action name; always contains {@link #DEFAULT_RULE}
 * @param allowlist users never limited (health checkers, internal services)
 * @param denylist  users always banned
 * @param shadow    every rule in shadow mode: nothing blocks, would-blocks are reported
 * @param tiers     plans by name: each the rules it overrides, by rule name, each a whole rule of that name
 */
public record Limits(long version, String source, Map<String, Rule> rules, Set<String> allowlist, Set<String> denylist,
                     boolean shadow, Map<String, Map<String, Rule>> tiers) {

  /** Governs every action that has no rule of its own. */
  public static final String DEFAULT_RULE = "default";

  public Limits {
    rules = Map.copyOf(rules);
    allowlist = Set.copyOf(allowlist);
    denylist = Set.copyOf(denylist);
    tiers = Map.copyOf(tiers);
    if (!rules.containsKey(DEFAULT_RULE)) {
      throw new IllegalArgumentException("limits must define a rule named '" + DEFAULT_RULE + "'");
    }
  }

  public Limits(long version, String source, Map<String, Rule> rules, Set<String> allowlist, Set<String> denylist, boolean shadow) {
    this(version, source, rules, allowlist, denylist, shadow, Map.of());
  }

  public Limits(long version, String source, Map<String, Rule> rules) {
    this(version, source, rules, Set.of(), Set.of(), false);
  }

  /**
   * A short fingerprint of the rules and lists (not of version or source): instances showing the
   * same digest enforce the same limits.
   */
  public String digest() {
    StringBuilder canonical = new StringBuilder();
    new java.util.TreeMap<>(rules).forEach((name, rule) -> canonical.append(rule).append('\n'));
    canonical.append(new java.util.TreeSet<>(allowlist)).append('\n').append(new java.util.TreeSet<>(denylist))
        .append('\n').append(shadow);
    // Without tiers, the digest is what it was before tiers existed: instances of both builds agree.
    new java.util.TreeMap<>(tiers).forEach((tier, overrides) -> {
      canonical.append("\ntier ").append(tier);
      new java.util.TreeMap<>(overrides).forEach((name, rule) -> canonical.append('\n').append(rule));
    });
    try {
      byte[] hash = java.security.MessageDigest.getInstance("SHA-256")
          .digest(canonical.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(hash, 0, 6);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** Whether any rule, a tier's included, follows the throttle factor; without one, adaptive throttling stays idle. */
  public boolean anyAdaptive() {
    for (Rule rule : rules.values()) {
      if (rule.adaptive()) {
        return true;
      }
    }
    for (Map<String, Rule> overrides : tiers.values()) {
      for (Rule rule : overrides.values()) {
        if (rule.adaptive()) {
          return true;
        }
      }
    }
    return false;
  }

  /** The rule for an action: its own, else the default rule. */
  public Rule ruleFor(String action) {
    Rule rule = rules.get(action);
    return rule != null ? rule : rules.get(DEFAULT_RULE);
  }

  /**
   * What a check of {@code action} on {@code tier} (empty for none) is decided under by what
   * operators stored for the user: without a tier, the plans its stored tier chooses among; the
   * user's override, when the rule is overridable; null when neither can change the rule (the check
   * is then the rule's alone).
   */
  public TierChoice choiceFor(String action, String tier) {
    Rule rule = ruleFor(action, tier);
    if (!tier.isEmpty()) {
      return rule.overridable() ? new TierChoice(rule, List.of(), List.of(), tiers.keySet(), false, true) : null;
    }
    TierChoice plans = tierChoice(action);
    if (plans != null) {
      return rule.overridable() ? new TierChoice(rule, plans.tiers(), plans.rules(), plans.tiersInForce(), true, true) : plans;
    }
    return rule.overridable() ? new TierChoice(rule, List.of(), List.of(), tiers.keySet(), false, true) : null;
  }

  /**
   * The plans a check of {@code action} that names no tier chooses among by the user's stored tier;
   * null when no tier changes the action's rule.
   */
  private TierChoice tierChoice(String action) {
    if (tiers.isEmpty()) {
      return null;
    }
    Rule rule = ruleFor(action);
    List<String> names = null;
    List<Rule> overrides = null;
    for (Map.Entry<String, Map<String, Rule>> tier : tiers.entrySet()) {
      Rule override = tier.getValue().get(rule.name());
      if (override != null && !override.equals(rule)) {
        if (names == null) {
          names = new ArrayList<>(tiers.size());
          overrides = new ArrayList<>(tiers.size());
        }
        names.add(tier.getKey());
        overrides.add(override);
      }
    }
    return names == null ? null : new TierChoice(rule, names, overrides, tiers.keySet(), true, false);
  }

  /**
   * The rule for an action on a tier: the tier's override of the action's rule, else that rule.
   * {@code tier} must be empty (no tier) or one of {@link #tiers}.
   */
  public Rule ruleFor(String action, String tier) {
    Rule rule = ruleFor(action);
    if (tier.isEmpty()) {
      return rule;
    }
    Rule override = tiers.get(tier).get(rule.name());
    return override != null ? override : rule;
  }
}
