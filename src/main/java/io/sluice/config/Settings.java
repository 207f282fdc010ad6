package io.sluice.config;

import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The process settings, validated once at start. Every field has a default, a key in
 * {@code conf/application.json}, and an environment variable (see {@link SettingsLoader}).
 */
public record Settings(
    String host,
    int port,
    String redis,
    String limits,
    int redisTimeoutMs,
    int redisPoolSize,
    FailureMode failureMode,
    int grpcInstances,
    int limitsScanMs,
    boolean shadow) {

  /** What a check answers when Redis cannot be asked in time. */
  public enum FailureMode {
    /** Answer ALLOW (marked degraded): a Redis hiccup adds no outage to the backends. */
    ALLOW,
    /** Answer DENY (marked degraded): for endpoints where letting traffic through unchecked is worse. */
    DENY
  }

  static final JsonObject DEFAULTS = new JsonObject()
      .put("host", "0.0.0.0")
      .put("port", 50051)
      .put("redis", "redis://127.0.0.1:6379")
      .put("limits", "conf/limits.json")
      .put("redisTimeoutMs", 250)
      .put("redisPoolSize", 16)
      .put("failureMode", "allow")
      .put("grpcInstances", 0)
      .put("limitsScanMs", 250)
      .put("shadow", false);

  /** Builds settings from merged JSON; every problem is reported at once, naming the key. */
  public static Settings fromJson(JsonObject json) {
    List<String> problems = new ArrayList<>();
    Set<String> unknown = new java.util.TreeSet<>(json.fieldNames());
    unknown.removeAll(DEFAULTS.fieldNames());
    for (String key : unknown) {
      problems.add("unknown setting '" + key + "' (known: " + String.join(", ", new java.util.TreeSet<>(DEFAULTS.fieldNames())) + ")");
    }
    JsonObject merged = DEFAULTS.copy().mergeIn(json);
    Settings settings = new Settings(
        text(merged, "host", problems),
        integer(merged, "port", 1, 65535, problems),
        redisUri(merged, problems),
        text(merged, "limits", problems),
        integer(merged, "redisTimeoutMs", 1, 60_000, problems),
        integer(merged, "redisPoolSize", 1, 1024, problems),
        failureMode(merged, problems),
        integer(merged, "grpcInstances", 0, 1024, problems),
        integer(merged, "limitsScanMs", 10, 60_000, problems),
        bool(merged, "shadow", problems));
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid settings: " + String.join("; ", problems));
    }
    return settings;
  }

  private static String text(JsonObject json, String key, List<String> problems) {
    Object value = json.getValue(key);
    if (value instanceof String s && !s.isBlank()) {
      return s;
    }
    problems.add(key + " must be a non-empty string, was " + describe(value));
    return null;
  }

  private static String redisUri(JsonObject json, List<String> problems) {
    String uri = text(json, "redis", problems);
    if (uri != null && !(uri.startsWith("redis://") || uri.startsWith("rediss://") || uri.startsWith("unix://"))) {
      problems.add("redis must be a redis://, rediss:// or unix:// URI, was '" + uri + "'");
    }
    return uri;
  }

  private static int integer(JsonObject json, String key, int min, int max, List<String> problems) {
    Object value = json.getValue(key);
    long parsed;
    if (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
      parsed = n.longValue();
    } else if (value instanceof String s && s.matches("-?\\d{1,10}")) {
      parsed = Long.parseLong(s);
    } else {
      problems.add(key + " must be an integer from " + min + " to " + max + ", was " + describe(value));
      return 0;
    }
    if (parsed < min || parsed > max) {
      problems.add(key + " must be an integer from " + min + " to " + max + ", was " + parsed);
      return 0;
    }
    return (int) parsed;
  }

  private static boolean bool(JsonObject json, String key, List<String> problems) {
    Object value = json.getValue(key);
    if (value instanceof Boolean b) {
      return b;
    }
    if ("true".equalsIgnoreCase(String.valueOf(value)) || "false".equalsIgnoreCase(String.valueOf(value))) {
      return Boolean.parseBoolean(String.valueOf(value));
    }
    problems.add(key + " must be true or false, was " + describe(value));
    return false;
  }

  private static FailureMode failureMode(JsonObject json, List<String> problems) {
    Object value = json.getValue("failureMode");
    if (value instanceof String s) {
      for (FailureMode mode : FailureMode.values()) {
        if (mode.name().equalsIgnoreCase(s)) {
          return mode;
        }
      }
    }
    problems.add("failureMode must be 'allow' or 'deny', was " + describe(value));
    return null;
  }

  private static String describe(Object value) {
    return value instanceof String s ? "'" + s + "'" : String.valueOf(value);
  }
}
