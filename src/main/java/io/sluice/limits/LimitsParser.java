package io.sluice.limits;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
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
  /** Action names and user ids share this bound, so a rule can exist for any valid action. */
  public static final int MAX_NAME_BYTES = 256;

  private static final Set<String> DOCUMENT_FIELDS = Set.of("rules");
  private static final Set<String> RULE_FIELDS = Set.of("capacity", "refillPerSecond");

  private LimitsParser() {
  }

  /** @throws InvalidLimitsException listing every problem found */
  public static Limits parse(String json, String source, long version) {
    JsonObject document;
    try {
      document = new JsonObject(json);
    } catch (DecodeException e) {
      throw new InvalidLimitsException(source, List.of("not a JSON object: " + e.getMessage()));
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
    if (!problems.isEmpty()) {
      throw new InvalidLimitsException(source, problems);
    }
    return new Limits(version, source, rules);
  }

  private static Rule parseRule(String name, Object value, List<String> problems) {
    String path = "rules." + name;
    int problemsBefore = problems.size();
    int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
    if (nameBytes == 0 || nameBytes > MAX_NAME_BYTES) {
      problems.add(path + " must have a name of 1 to " + MAX_NAME_BYTES + " bytes, was " + nameBytes + " bytes");
    }
    if (!(value instanceof JsonObject rule)) {
      problems.add(path + " must be an object, was " + describe(value));
      return null;
    }
    unknownFields(rule, RULE_FIELDS, path + ".", problems);
    long capacity = wholeNumber(rule.getValue("capacity"), path + ".capacity", 1, MAX_CAPACITY, problems);
    double refill = positiveNumber(rule.getValue("refillPerSecond"), path + ".refillPerSecond", MAX_REFILL_PER_SECOND, problems);
    return problems.size() == problemsBefore ? new Rule(name, capacity, refill) : null;
  }

  private static void unknownFields(JsonObject json, Set<String> known, String prefix, List<String> problems) {
    for (String field : json.fieldNames()) {
      if (!known.contains(field)) {
        problems.add(prefix + field + " is not a known field (expected one of " + new java.util.TreeSet<>(known) + ")");
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
      return "\"" + s + "\"";
    }
    return value.toString();
  }
}
