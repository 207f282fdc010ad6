package io.sluice.limits;

import io.sluice.config.FailureMode;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses and validates a limits document. Strict on purpose: an unknown field is more likely a
 * typo that would silently leave a limit unenforced than something to ignore.
 */
public final class LimitsParser {

  public static final long MAX_CAPACITY = 1_000_000_000L;
  public static final double MAX_REFILL_PER_SECOND = 1_000_000_000d;

  /** Durations in seconds (fractions allowed) are bounded to a year. */
  public static final double MAX_SECONDS = 365 * 86_400d;
  /** The script reads the whole list of recent denials on each one: beyond this a policy costs Redis too much. */
  public static final int MAX_VIOLATIONS = 10_000;
  /**
   * A bucket must refill within this many seconds (ten years): its key's expiry is the time to
   * refill, which the script must write as a whole number of milliseconds.
   */
  public static final double MAX_REFILL_SECONDS = 10 * 365 * 86_400d;
  public static final double MAX_BAN_MULTIPLIER = 1000;

  private static final Set<String> DOCUMENT_FIELDS = Set.of("rules", "allowlist", "denylist", "shadow", "tiers");
  private static final Set<String> RULE_FIELDS = Set.of("capacity", "refillPerSecond", "abuse", "shadow", "adaptive",
      "failureMode", "overridable", "concurrency", "quota");
  private static final Set<String> CONCURRENCY_FIELDS = Set.of("maxInFlight", "leaseSeconds");
  private static final Set<String> QUOTA_FIELDS = Set.of("limit", "period", "timezone", "countsTowardBans");
  private static final Set<String> ABUSE_FIELDS = Set.of(
      "maxViolations", "windowSeconds", "banSeconds", "banMultiplier", "maxBanSeconds", "historySeconds", "scope");

  private LimitsParser() {
  }

  /** @throws InvalidLimitsException listing every problem found */
  public static Limits parse(String json, String source, long version) {
    JsonObject document;
    try {
      document = new JsonObject(json);
    } catch (DecodeException e) {
      throw new InvalidLimitsException(source, List.of(JsonSyntax.describe(e)));
    }
    return parse(document, source, version);
  }

  /** @throws InvalidLimitsException listing every problem found */
  public static Limits parse(JsonObject document, String source, long version) {
    List<String> problems = new ArrayList<>();
    unknownFields(document, DOCUMENT_FIELDS, "", problems);
    Object rulesValue = document.getValue("rules");
    Map<String, Rule> rules = new LinkedHashMap<>();
    if (rulesValue instanceof JsonObject rulesJson) {
      for (String name : rulesJson.fieldNames()) {
        Rule rule = parseRule(name, rulesJson.getValue(name), problems);
        if (rule != null) {
          rules.put(name, rule);
        }
      }
      if (!rulesJson.containsKey(Limits.DEFAULT_RULE)) {
        problems.add("rules.default is required (it governs actions with no rule of their own), was missing");
      }
    } else {
      problems.add("rules must be an object of rules by action name, was " + describe(rulesValue));
    }
    Set<String> allowlist = userList(document, "allowlist", problems);
    Set<String> denylist = userList(document, "denylist", problems);
    for (String user : allowlist) {
      if (denylist.contains(user)) {
        problems.add("allowlist and denylist both contain \"" + user + "\"; a user can be in one of them only");
      }
    }
    boolean shadow = flag(document, "shadow", "shadow", problems);
    Map<String, Map<String, Rule>> tiers = tiers(document, rulesValue instanceof JsonObject rulesJson ? rulesJson : new JsonObject(),
        problems);
    if (!problems.isEmpty()) {
      throw new InvalidLimitsException(source, problems);
    }
    return new Limits(version, source, rules, allowlist, denylist, shadow, tiers);
  }

  /**
   * Validates what a published message carries on its own: each rule it sets and its lists. Whether
   * the merged result is valid (a default rule, say) is decided by each instance.
   */
  public static void validateMessage(JsonObject message, String source) {
    List<String> problems = new ArrayList<>();
    if (message.getValue("rules") instanceof JsonObject rules) {
      for (String name : rules.fieldNames()) {
        if (rules.getValue(name) != null) {
          parseRule(name, rules.getValue(name), problems);
        }
      }
    }
    userList(message, "allowlist", problems);
    userList(message, "denylist", problems);
    if (!problems.isEmpty()) {
      throw new InvalidLimitsException(source, problems);
    }
  }

  /** The canonical document of a snapshot: what operators see as the limits in force. */
  public static JsonObject toJson(Limits limits) {
    JsonObject rules = new JsonObject();
    new java.util.TreeMap<>(limits.rules()).forEach((name, rule) -> rules.put(name, toJson(rule)));
    JsonObject document = new JsonObject()
        .put("rules", rules)
        .put("allowlist", new io.vertx.core.json.JsonArray(new ArrayList<>(new java.util.TreeSet<>(limits.allowlist()))))
        .put("denylist", new io.vertx.core.json.JsonArray(new ArrayList<>(new java.util.TreeSet<>(limits.denylist()))))
        .put("shadow", limits.shadow());
    if (!limits.tiers().isEmpty()) {
      // Each override as the whole rule it makes: read back, it makes the same rule.
      JsonObject tiers = new JsonObject();
      new java.util.TreeMap<>(limits.tiers()).forEach((tier, overrides) -> {
        JsonObject json = new JsonObject();
        // Every field spelled out: read back, an override is merged onto its rule, whose true flag or
        // abuse policy would otherwise come back where the tier had none.
        // Whether a rule is overridable is the rule's alone: a plan's spelling leaves it out.
        new java.util.TreeMap<>(overrides).forEach((name, rule) -> {
          JsonObject spelled = withoutOverridable(toJson(rule)).put("shadow", rule.shadow()).put("adaptive", rule.adaptive())
              .put("abuse", json(rule.abuse())).put("failureMode", rule.failureMode() == null ? null : rule.failureMode().wireName());
          // A null only where it removes the rule's own quota (a plan cannot remove its concurrency): a build that knows
          // no quotas refuses it even so.
          Rule base = limits.rules().get(name);
          if (rule.quota() == null && base != null && base.quota() != null) {
            spelled.putNull("quota");
          }
          json.put(name, spelled);
        });
        tiers.put(tier, json);
      });
      document.put("tiers", tiers);
    }
    return document;
  }

  private static JsonObject concurrencyJson(Rule rule) {
    return new JsonObject().put("maxInFlight", rule.concurrency().maxInFlight())
        .put("leaseSeconds", rule.concurrency().leaseMs() / 1000);
  }

  private static JsonObject quotaJson(Rule rule) {
    QuotaPolicy quota = rule.quota();
    return new JsonObject().put("limit", quota.limit()).put("period", quota.period().wireName())
        .put("timezone", quota.zone().getId()).put("countsTowardBans", quota.countsTowardBans());
  }

  private static JsonObject withoutOverridable(JsonObject rule) {
    rule.remove("overridable");
    return rule;
  }

  private static JsonObject toJson(Rule rule) {
    JsonObject json = new JsonObject().put("capacity", rule.capacity()).put("refillPerSecond", rule.refillPerSecond());
    if (rule.abuse() != null) {
      json.put("abuse", json(rule.abuse()));
    }
    if (rule.shadow()) {
      json.put("shadow", true);
    }
    if (rule.adaptive()) {
      json.put("adaptive", true);
    }
    if (rule.failureMode() != null) {
      json.put("failureMode", rule.failureMode().wireName());
    }
    if (rule.overridable()) {
      json.put("overridable", true);
    }
    if (rule.concurrency() != null) {
      json.put("concurrency", concurrencyJson(rule));
    }
    if (rule.quota() != null) {
      json.put("quota", quotaJson(rule));
    }
    return json;
  }

  private static JsonObject json(AbusePolicy abuse) {
    return abuse == null ? null : new JsonObject()
        .put("maxViolations", abuse.maxViolations())
        .put("windowSeconds", abuse.windowMs() / 1000d)
        .put("banSeconds", abuse.banMs() / 1000d)
        .put("banMultiplier", abuse.banMultiplier())
        .put("maxBanSeconds", abuse.maxBanMs() / 1000d)
        .put("historySeconds", abuse.historyMs() / 1000d)
        .put("scope", abuse.scope().wireName());
  }

  private static Rule parseRule(String name, Object value, List<String> problems) {
    return parseRule("rules." + printable(name), name, value, problems);
  }

  /**
   * {@code "tiers"}: plans by name, each overriding rules of {@code rules} by name. An override
   * names the fields it changes (any field of a rule); the rest are the rule's. It is checked as
   * the whole rule it makes, so a plan can never hold a rule that {@code rules} could not.
   */
  private static Map<String, Map<String, Rule>> tiers(JsonObject document, JsonObject rulesJson, List<String> problems) {
    Object value = document.getValue("tiers");
    if (value == null) {
      return Map.of();
    }
    if (!(value instanceof JsonObject tiersJson)) {
      problems.add("tiers must be an object of tiers by name, each an object of rule overrides by rule name, was " + describe(value));
      return Map.of();
    }
    Map<String, Map<String, Rule>> tiers = new LinkedHashMap<>();
    for (String tier : tiersJson.fieldNames()) {
      String path = "tiers." + printable(tier);
      String nameProblem = Names.problem(tier);
      if (nameProblem != null) {
        problems.add(path + ": a tier's name " + nameProblem);
      }
      if (!(tiersJson.getValue(tier) instanceof JsonObject overrides)) {
        problems.add(path + " must be an object of rule overrides by rule name, was " + describe(tiersJson.getValue(tier)));
        continue;
      }
      Map<String, Rule> rules = new LinkedHashMap<>();
      for (String ruleName : overrides.fieldNames()) {
        String rulePath = path + "." + printable(ruleName);
        if (!(rulesJson.getValue(ruleName) instanceof JsonObject base)) {
          problems.add(rulePath + " overrides no rule: '" + printable(ruleName) + "' is not in rules");
          continue;
        }
        if (!(overrides.getValue(ruleName) instanceof JsonObject override)) {
          problems.add(rulePath + " must be an object of the rule's fields it changes, was " + describe(overrides.getValue(ruleName)));
          continue;
        }
        if (override.containsKey("overridable")) {
          problems.add(rulePath + ".overridable: whether users may be given numbers of their own is the rule's, not a plan's");
        }
        // Checked as the whole rule it makes: an unknown field of the override is reported there, once.
        Rule rule = parseRule(rulePath, ruleName, base.copy().mergeIn(override), problems);
        if (override.containsKey("concurrency") && override.getValue("concurrency") == null && base.getValue("concurrency") != null) {
          // An Acquire that names no plan reads the stored one in Redis: it must find a slot to take under each.
          problems.add(rulePath + ".concurrency: a plan may change the rule's concurrency limit, not remove it (Acquire and"
              + " acquiring checks take a slot under every plan); give it a larger maxInFlight instead");
          rule = null;
        }
        if (rule != null) {
          rules.put(ruleName, rule);
        }
      }
      tiers.put(tier, rules);
    }
    // A user's stored tier is chosen in the check's script call, among at most this many plans of a rule.
    Map<String, List<String>> tiersOfRule = new java.util.TreeMap<>();
    tiers.forEach((tier, rules) -> rules.keySet().forEach(rule -> tiersOfRule.computeIfAbsent(rule, r -> new ArrayList<>()).add(tier)));
    tiersOfRule.forEach((rule, overriding) -> {
      if (overriding.size() > TierChoice.MAX_CANDIDATES - 1) {
        problems.add("tiers: at most " + (TierChoice.MAX_CANDIDATES - 1) + " tiers may override one rule; " + overriding.size()
            + " override '" + printable(rule) + "'");
      }
    });
    return tiers;
  }

  private static Rule parseRule(String path, String name, Object value, List<String> problems) {
    int problemsBefore = problems.size();
    String nameProblem = Names.problem(name);
    if (nameProblem != null) {
      problems.add(path + ": a rule's name " + nameProblem);
    }
    if (!(value instanceof JsonObject rule)) {
      problems.add(path + " must be an object, was " + describe(value));
      return null;
    }
    unknownFields(rule, RULE_FIELDS, path + ".", problems);
    long capacity = wholeNumber(rule.getValue("capacity"), path + ".capacity", 1, MAX_CAPACITY, problems);
    double refill = positiveNumber(rule.getValue("refillPerSecond"), path + ".refillPerSecond", MAX_REFILL_PER_SECOND, problems);
    if (capacity > 0 && refill > 0 && capacity / refill > MAX_REFILL_SECONDS) {
      problems.add("%s.refillPerSecond must refill the bucket within ten years, so at least capacity / %.0f = %s per second, was %s"
          .formatted(path, MAX_REFILL_SECONDS, capacity / MAX_REFILL_SECONDS, refill));
    }
    AbusePolicy abuse = null;
    Object abuseValue = rule.getValue("abuse");
    if (abuseValue instanceof JsonObject abuseJson) {
      abuse = parseAbuse(abuseJson, path + ".abuse", problems);
    } else if (abuseValue != null) {
      problems.add(path + ".abuse must be an object, was " + describe(abuseValue));
    }
    boolean shadow = flag(rule, "shadow", path + ".shadow", problems);
    boolean adaptive = flag(rule, "adaptive", path + ".adaptive", problems);
    boolean overridable = flag(rule, "overridable", path + ".overridable", problems);
    if (overridable && adaptive) {
      problems.add(path + ".overridable: an adaptive rule takes no overrides, whose numbers would not follow the throttle factor");
    }
    FailureMode failureMode = null;
    Object failureModeValue = rule.getValue("failureMode");
    if (failureModeValue != null) {
      failureMode = FailureMode.parse(failureModeValue);
      if (failureMode == null) {
        problems.add(path + ".failureMode must be \"open\", \"closed\" or \"local\", was " + describe(failureModeValue));
      }
    }
    ConcurrencyPolicy concurrency = null;
    Object concurrencyValue = rule.getValue("concurrency");
    if (concurrencyValue instanceof JsonObject concurrencyJson) {
      unknownFields(concurrencyJson, CONCURRENCY_FIELDS, path + ".concurrency.", problems);
      long maxInFlight = wholeNumber(concurrencyJson.getValue("maxInFlight"), path + ".concurrency.maxInFlight", 1,
          ConcurrencyPolicy.MAX_IN_FLIGHT, problems);
      long leaseSeconds = wholeNumber(concurrencyJson.getValue("leaseSeconds"), path + ".concurrency.leaseSeconds", 1,
          ConcurrencyPolicy.MAX_LEASE_SECONDS, problems);
      concurrency = new ConcurrencyPolicy((int) maxInFlight, leaseSeconds * 1000);
    } else if (concurrencyValue != null) {
      problems.add(path + ".concurrency must be an object {\"maxInFlight\", \"leaseSeconds\"}, was " + describe(concurrencyValue));
    }
    QuotaPolicy quota = null;
    Object quotaValue = rule.getValue("quota");
    if (quotaValue instanceof JsonObject quotaJson) {
      quota = parseQuota(quotaJson, path + ".quota", problems);
      if (quota.countsTowardBans() && abuse == null) {
        problems.add(path + ".quota.countsTowardBans: the rule has no abuse policy to count toward (give it \"abuse\")");
      }
    } else if (quotaValue != null) {
      problems.add(path + ".quota must be an object {\"limit\", \"period\", \"timezone\"}, was " + describe(quotaValue));
    }
    return problems.size() == problemsBefore
        ? new Rule(name, capacity, refill, abuse, shadow, adaptive, failureMode, overridable, concurrency, quota) : null;
  }

  private static QuotaPolicy parseQuota(JsonObject json, String path, List<String> problems) {
    unknownFields(json, QUOTA_FIELDS, path + ".", problems);
    long limit = wholeNumber(json.getValue("limit"), path + ".limit", 1, QuotaPolicy.MAX_LIMIT, problems);
    QuotaPolicy.Period period = QuotaPolicy.Period.parse(json.getValue("period"));
    if (period == null) {
      problems.add(path + ".period must be \"day\", \"week\" or \"month\", was " + describe(json.getValue("period")));
    }
    java.time.ZoneId zone = java.time.ZoneOffset.UTC;
    Object timezone = json.getValue("timezone");
    if (timezone != null) {
      try {
        zone = java.time.ZoneId.of((String) timezone);
      } catch (ClassCastException | java.time.DateTimeException e) {
        problems.add(path + ".timezone must be an IANA time zone such as \"Europe/Berlin\" or \"UTC\", was " + describe(timezone));
      }
    }
    boolean countsTowardBans = flag(json, "countsTowardBans", path + ".countsTowardBans", problems);
    return new QuotaPolicy(limit, period, zone, countsTowardBans);
  }

  /** An `abuse` block, as limits.json and the Envoy rule files write it; problems name `path`. */
  public static AbusePolicy parseAbuse(JsonObject json, String path, List<String> problems) {
    unknownFields(json, ABUSE_FIELDS, path + ".", problems);
    int maxViolations = (int) wholeNumber(json.getValue("maxViolations"), path + ".maxViolations", 1, MAX_VIOLATIONS, problems);
    long windowMs = millis(json, "windowSeconds", AbusePolicy.DEFAULT_WINDOW_MS, path, problems);
    long banMs = millis(json, "banSeconds", AbusePolicy.DEFAULT_BAN_MS, path, problems);
    double multiplier = AbusePolicy.DEFAULT_BAN_MULTIPLIER;
    Object multiplierValue = json.getValue("banMultiplier");
    if (multiplierValue != null) {
      if (multiplierValue instanceof Number n && n.doubleValue() >= 1 && n.doubleValue() <= MAX_BAN_MULTIPLIER) {
        multiplier = n.doubleValue();
      } else {
        problems.add(path + ".banMultiplier must be a number from 1 to " + (long) MAX_BAN_MULTIPLIER + ", was " + describe(multiplierValue));
      }
    }
    long maxBanMs = millis(json, "maxBanSeconds", Math.max(AbusePolicy.DEFAULT_MAX_BAN_MS, banMs), path, problems);
    if (maxBanMs > 0 && banMs > maxBanMs) {
      problems.add(path + ".maxBanSeconds must be >= banSeconds (" + banMs / 1000d + "), was " + maxBanMs / 1000d);
    }
    long historyMs = millis(json, "historySeconds", AbusePolicy.DEFAULT_HISTORY_MS, path, problems);
    AbusePolicy.Scope scope = AbusePolicy.Scope.ACTION;
    Object scopeValue = json.getValue("scope");
    if (scopeValue != null) {
      if ("action".equals(scopeValue)) {
        scope = AbusePolicy.Scope.ACTION;
      } else if ("user".equals(scopeValue)) {
        scope = AbusePolicy.Scope.USER;
      } else {
        problems.add(path + ".scope must be \"action\" or \"user\", was " + describe(scopeValue));
      }
    }
    return new AbusePolicy(maxViolations, windowMs, banMs, multiplier, maxBanMs, historyMs, scope);
  }

  /** A duration given in seconds (fractions allowed, at least one millisecond), as milliseconds. */
  private static long millis(JsonObject json, String field, long defaultMs, String path, List<String> problems) {
    Object value = json.getValue(field);
    if (value == null) {
      return defaultMs;
    }
    if (value instanceof Number n && n.doubleValue() >= 0.001 && n.doubleValue() <= MAX_SECONDS) {
      return Math.round(n.doubleValue() * 1000);
    }
    problems.add(path + "." + field + " must be a number of seconds from 0.001 to " + (long) MAX_SECONDS + ", was " + describe(value));
    return 0;
  }

  private static Set<String> userList(JsonObject document, String field, List<String> problems) {
    Object value = document.getValue(field);
    if (value == null) {
      return Set.of();
    }
    if (!(value instanceof io.vertx.core.json.JsonArray array)) {
      problems.add(field + " must be an array of user ids, was " + describe(value));
      return Set.of();
    }
    Set<String> users = new java.util.HashSet<>();
    for (int i = 0; i < array.size(); i++) {
      Object user = array.getValue(i);
      String problem = user instanceof String s ? Names.problem(s) : "must be a string";
      if (problem != null) {
        problems.add(field + "[" + i + "] " + problem + ", was " + describe(user));
      } else {
        users.add((String) user);
      }
    }
    return users;
  }

  private static boolean flag(JsonObject json, String field, String path, List<String> problems) {
    Object value = json.getValue(field);
    if (value == null || value instanceof Boolean) {
      return Boolean.TRUE.equals(value);
    }
    problems.add(path + " must be true or false, was " + describe(value));
    return false;
  }

  private static void unknownFields(JsonObject json, Set<String> known, String prefix, List<String> problems) {
    for (String field : json.fieldNames()) {
      if (!known.contains(field)) {
        problems.add(prefix + printable(field) + " is not a known field (expected one of " + new java.util.TreeSet<>(known) + ")");
      }
    }
  }

  private static long wholeNumber(Object value, String path, long min, long max, List<String> problems) {
    if (value instanceof Number n && !(value instanceof Double d && (d != Math.rint(d) || d.isInfinite()))) {
      long v = n.longValue();
      if (v >= min && v <= max && n.doubleValue() == v) {
        return v;
      }
    }
    problems.add(path + " must be a whole number from " + min + " to " + max + ", was " + describe(value));
    return 0;
  }

  private static double positiveNumber(Object value, String path, double max, List<String> problems) {
    if (value instanceof Number n) {
      double v = n.doubleValue();
      if (v > 0 && v <= max && Double.isFinite(v)) {
        return v;
      }
    }
    problems.add(path + " must be a number > 0 and <= " + (long) max + ", was " + describe(value));
    return 0;
  }

  static String describe(Object value) {
    if (value == null) {
      return "missing";
    }
    if (value instanceof String s) {
      return "\"" + printable(s) + "\"";
    }
    return printable(value.toString());
  }

  /** Control characters escaped: a rejected value is logged, and must not forge a log line. */
  public static String printable(String text) {
    StringBuilder out = null;
    for (int i = 0; i < text.length(); ) {
      int c = text.codePointAt(i);
      int next = i + Character.charCount(c);
      // Format characters (bidi overrides and isolates, zero-width ones, tags) too: they would make a
      // log or audit line read otherwise than it is; and a lone surrogate, which is no character.
      int type = Character.getType(c);
      boolean control = Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || type == Character.FORMAT
          || type == Character.SURROGATE;
      if (control && out == null) {
        out = new StringBuilder(text.length() + 8).append(text, 0, i);
      }
      if (out != null) {
        if (control) {
          out.append(c > 0xFFFF ? String.format("\\U%08x", c) : String.format("\\u%04x", c));
        } else {
          out.appendCodePoint(c);
        }
      }
      i = next;
    }
    return out == null ? text : out.toString();
  }
}
