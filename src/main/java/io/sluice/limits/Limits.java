package io.sluice.limits;

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
 */
public record Limits(long version, String source, Map<String, Rule> rules, Set<String> allowlist, Set<String> denylist) {

  /** Governs every action that has no rule of its own. */
  public static final String DEFAULT_RULE = "default";

  public Limits {
    rules = Map.copyOf(rules);
    allowlist = Set.copyOf(allowlist);
    denylist = Set.copyOf(denylist);
    if (!rules.containsKey(DEFAULT_RULE)) {
      throw new IllegalArgumentException("limits must define a rule named '" + DEFAULT_RULE + "'");
    }
  }

  public Limits(long version, String source, Map<String, Rule> rules) {
    this(version, source, rules, Set.of(), Set.of());
  }

  /** The rule for an action: its own, else the default rule. */
  public Rule ruleFor(String action) {
    Rule rule = rules.get(action);
    return rule != null ? rule : rules.get(DEFAULT_RULE);
  }
}
