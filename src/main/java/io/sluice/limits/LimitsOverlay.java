package io.sluice.limits;

import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Set;

/**
 * How a limits message published on Redis combines with the limits file. Pure functions on JSON,
 * so every instance that sees the same file and the same messages computes the same limits.
 *
 * <p>A message is a limits document whose named rules replace those rules, a rule set to
 * {@code null} removes it, its named tiers likewise replace (or, {@code null}, remove) those tiers
 * whole, and {@code allowlist}, {@code denylist} and {@code shadow}, when present,
 * replace the file's. {@code "replace": true} makes the message the whole rule set (the file is ignored until a
 * reset); {@code "reset": true} drops every published change, so the file alone decides again, and then
 * applies the rest of the message, if any (a rollback to a stored version is a reset and that version's overlay).
 * Merging is idempotent: applying a message twice gives what applying it once gave.
 */
public final class LimitsOverlay {

  public static final String REPLACE = "replace";
  public static final String RESET = "reset";
  private static final Set<String> MESSAGE_FIELDS = Set.of("rules", "tiers", "allowlist", "denylist", "shadow", REPLACE, RESET,
      LimitsStore.VERSION);
  /** The fields whose entries a message replaces one by one, by name; null removes one. */
  private static final List<String> BY_NAME = List.of("rules", "tiers");

  private LimitsOverlay() {
  }

  /** The overlay after {@code message}; throws {@link InvalidLimitsException} when the message is malformed. */
  public static JsonObject merge(JsonObject overlay, JsonObject message, String source) {
    checkShape(message, source);
    boolean reset = Boolean.TRUE.equals(message.getValue(RESET));
    if (reset && message.fieldNames().stream().allMatch(field -> field.equals(RESET) || field.equals(LimitsStore.VERSION))) {
      return new JsonObject();
    }
    JsonObject next = Boolean.TRUE.equals(message.getValue(REPLACE))
        ? new JsonObject().put(REPLACE, true).put("rules", new JsonObject())
        : reset ? new JsonObject() : overlay.copy();
    for (String field : BY_NAME) {
      JsonObject entries = next.getJsonObject(field, new JsonObject()).copy();
      JsonObject changed = message.getJsonObject(field, new JsonObject());
      for (String name : changed.fieldNames()) {
        // A null stays in the overlay as a tombstone: it removes the entry from the file's set too.
        entries.put(name, changed.getValue(name));
      }
      if (!entries.isEmpty() || field.equals("rules")) {
        next.put(field, entries);
      }
    }
    for (String replaced : List.of("allowlist", "denylist", "shadow")) {
      if (message.containsKey(replaced)) {
        next.put(replaced, message.getValue(replaced));
      }
    }
    return next;
  }

  /** Whether an overlay changes anything (a stored one always has a version; after a reset, nothing else). */
  public static boolean hasChanges(JsonObject overlay) {
    for (String field : overlay.fieldNames()) {
      if (!LimitsStore.VERSION.equals(field)) {
        return true;
      }
    }
    return false;
  }

  /** The limits document in force: the file's, with the overlay applied. */
  public static JsonObject apply(JsonObject file, JsonObject overlay) {
    boolean replace = Boolean.TRUE.equals(overlay.getValue(REPLACE));
    JsonObject effective = replace ? new JsonObject() : file.copy();
    for (String field : BY_NAME) {
      JsonObject entries = replace ? new JsonObject() : effective.getJsonObject(field, new JsonObject()).copy();
      JsonObject changed = overlay.getJsonObject(field, new JsonObject());
      for (String name : changed.fieldNames()) {
        Object entry = changed.getValue(name);
        if (entry == null) {
          entries.remove(name);
        } else {
          entries.put(name, entry);
        }
      }
      if (!entries.isEmpty() || field.equals("rules")) {
        effective.put(field, entries);
      } else {
        effective.remove(field);
      }
    }
    for (String replaced : List.of("allowlist", "denylist", "shadow")) {
      if (overlay.containsKey(replaced)) {
        effective.put(replaced, overlay.getValue(replaced));
      }
    }
    return effective;
  }

  /** Rejects what no merge could make sense of; rule contents are validated on the merged result. */
  private static void checkShape(JsonObject message, String source) {
    List<String> problems = new java.util.ArrayList<>();
    for (String field : message.fieldNames()) {
      if (!MESSAGE_FIELDS.contains(field)) {
        problems.add(LimitsParser.printable(field) + " is not a known field (expected one of " + new java.util.TreeSet<>(MESSAGE_FIELDS) + ")");
      }
    }
    Object rules = message.getValue("rules");
    if (message.containsKey("rules") && !(rules instanceof JsonObject)) {
      problems.add("rules must be an object of rules by action name, was " + LimitsParser.describe(rules));
    }
    Object tiers = message.getValue("tiers");
    if (message.containsKey("tiers") && !(tiers instanceof JsonObject)) {
      problems.add("tiers must be an object of tiers by name, was " + LimitsParser.describe(tiers));
    }
    Object version = message.getValue(LimitsStore.VERSION);
    if (version != null && !(version instanceof Number n && n.longValue() >= 0 && n.doubleValue() == n.longValue())) {
      problems.add(LimitsStore.VERSION + " (set by publish-limits) must be a whole number >= 0, was " + LimitsParser.describe(version));
    }
    for (String flag : List.of(REPLACE, RESET)) {
      Object value = message.getValue(flag);
      if (value != null && !(value instanceof Boolean)) {
        problems.add(flag + " must be true or false, was " + LimitsParser.describe(value));
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidLimitsException(source, problems);
    }
  }
}
