package io.sluice.envoy;

import io.sluice.config.FailureMode;
import io.sluice.limits.AbusePolicy;
import io.sluice.limits.InvalidLimitsException;
import io.sluice.limits.LimitsParser;
import io.vertx.core.json.JsonObject;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads envoyproxy/ratelimit's rule files: one domain per file, its descriptors nested as deep as
 * needed. The set is valid as a whole or refused as a whole; every problem names the file, the
 * path in it and what was expected. Stricter than envoyproxy/ratelimit in two places, both to
 * refuse what is almost surely a mistake: a rate_limit without requests_per_unit (envoyproxy/ratelimit
 * reads 0, which refuses every request), and fields it knows that Sluice does not implement
 * (quota_mode, metadata).
 */
public final class EnvoyRulesParser {

  /** Which counting the rules will run on: an abuse policy needs the token bucket's violations. */
  public enum Algorithm { TOKEN_BUCKET, FIXED_WINDOW }

  private static final Set<String> ROOT_FIELDS = Set.of("domain", "descriptors");
  private static final Set<String> DESCRIPTOR_FIELDS = Set.of("key", "value", "rate_limit", "descriptors", "shadow_mode",
      "detailed_metric", "value_to_metric", "share_threshold");
  private static final Set<String> UNSUPPORTED_FIELDS = Set.of("quota_mode", "metadata");
  private static final Set<String> RATE_LIMIT_FIELDS = Set.of("unit", "requests_per_unit", "unlimited", "name", "replaces",
      "abuse", "failure_mode");
  private static final long MAX_REQUESTS_PER_UNIT = 0xFFFF_FFFFL;

  private EnvoyRulesParser() {
  }

  /**
   * @param files     file name to content, for every rule file of the directory
   * @param source    what to call the set in messages ("envoy rules conf/envoy")
   * @param algorithm what the rules will run on
   * @throws InvalidLimitsException naming every problem
   */
  public static EnvoyRules parse(Map<String, String> files, String source, Algorithm algorithm) {
    List<String> problems = new ArrayList<>();
    Map<String, EnvoyRules.Node> domains = new HashMap<>();
    Map<String, String> domainFiles = new HashMap<>();
    for (Map.Entry<String, String> file : new TreeMap<>(files).entrySet()) {
      new FileParser(file.getKey(), algorithm, problems).parse(file.getValue(), domains, domainFiles);
    }
    if (!problems.isEmpty()) {
      throw new InvalidLimitsException(source, problems);
    }
    return new EnvoyRules(Map.copyOf(domains), digest(files));
  }

  private static String digest(Map<String, String> files) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      new TreeMap<>(files).forEach((name, content) -> {
        sha.update(name.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(content.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
      });
      return HexFormat.of().formatHex(sha.digest(), 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** YAML with every scalar a string, as envoyproxy/ratelimit's Go structs read it: "500" and 500 are the same value. */
  private static Yaml yaml() {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setMaxAliasesForCollections(20);
    return new Yaml(new SafeConstructor(options), new Representer(new DumperOptions()), new DumperOptions(), options,
        new Resolver() {
          @Override
          protected void addImplicitResolvers() {
          }
        });
  }

  /** One file: its problems are reported as "file: path message". */
  private static final class FileParser {
    private final String file;
    private final Algorithm algorithm;
    private final List<String> problems;

    FileParser(String file, Algorithm algorithm, List<String> problems) {
      this.file = file;
      this.algorithm = algorithm;
      this.problems = problems;
    }

    void parse(String content, Map<String, EnvoyRules.Node> domains, Map<String, String> domainFiles) {
      Object root;
      try {
        root = yaml().load(content);
      } catch (YAMLException e) {
        problem("", "is not valid YAML: " + LimitsParser.printable(e.getMessage().lines().findFirst().orElse("")));
        return;
      }
      if (!(root instanceof Map<?, ?> map)) {
        problem("", "must be a mapping with domain and descriptors");
        return;
      }
      unknownFields(map, ROOT_FIELDS, "");
      String domain = text(map.get("domain"), "domain", true);
      if (domain == null) {
        return;
      }
      if (domainFiles.containsKey(domain)) {
        problem("domain", "'" + LimitsParser.printable(domain) + "' is already defined in " + domainFiles.get(domain));
        return;
      }
      domainFiles.put(domain, file);
      EnvoyRules.Node node = level(map.get("descriptors"), "descriptors", domain);
      if (node != null) {
        domains.put(domain, node);
      }
    }

    /** A descriptor list: the children of one node. */
    private EnvoyRules.Node level(Object value, String path, String parentPath) {
      if (value == null) {
        return new EnvoyRules.Node(Map.of(), List.of(), null, false);
      }
      if (!(value instanceof List<?> list)) {
        problem(path, "must be a list of descriptors");
        return null;
      }
      Map<String, EnvoyRules.Node> children = new LinkedHashMap<>();
      List<EnvoyRules.Wildcard> wildcards = new ArrayList<>();
      for (int i = 0; i < list.size(); i++) {
        String here = path + "[" + i + "]";
        if (!(list.get(i) instanceof Map<?, ?> descriptor)) {
          problem(here, "must be a mapping with at least a key");
          continue;
        }
        descriptor(descriptor, here, parentPath, children, wildcards);
      }
      return new EnvoyRules.Node(Map.copyOf(children), List.copyOf(wildcards), null, false);
    }

    private void descriptor(Map<?, ?> descriptor, String path, String parentPath, Map<String, EnvoyRules.Node> children,
                            List<EnvoyRules.Wildcard> wildcards) {
      for (Object field : descriptor.keySet()) {
        if (UNSUPPORTED_FIELDS.contains(String.valueOf(field))) {
          problem(path + "." + field, "is not supported by Sluice (remove it; see the README's migration notes)");
        }
      }
      Map<Object, Object> known = new LinkedHashMap<>(descriptor);
      known.keySet().removeAll(UNSUPPORTED_FIELDS);
      unknownFields(known, DESCRIPTOR_FIELDS, path + ".");
      String key = text(descriptor.get("key"), path + ".key", true);
      String value = text(descriptor.get("value"), path + ".value", false);
      if (key == null) {
        return;
      }
      String childKey = value == null || value.isEmpty() ? key : key + "_" + value;
      String nodePath = parentPath + "." + childKey;
      if (children.containsKey(childKey)) {
        problem(path, "duplicates the descriptor '" + LimitsParser.printable(childKey) + "' of the same list");
        return;
      }
      boolean shadow = flag(descriptor.get("shadow_mode"), path + ".shadow_mode");
      boolean detailed = flag(descriptor.get("detailed_metric"), path + ".detailed_metric")
          || flag(descriptor.get("value_to_metric"), path + ".value_to_metric");
      boolean shareThreshold = flag(descriptor.get("share_threshold"), path + ".share_threshold");
      if (shareThreshold && !childKey.contains("*")) {
        problem(path + ".share_threshold", "needs a value with a wildcard (*)");
      }
      EnvoyRules.Limit limit = descriptor.get("rate_limit") == null ? null
          : rateLimit(descriptor.get("rate_limit"), path + ".rate_limit", nodePath, shadow, detailed);
      EnvoyRules.Node nested = level(descriptor.get("descriptors"), path + ".descriptors", nodePath);
      if (nested == null) {
        return;
      }
      children.put(childKey, new EnvoyRules.Node(nested.children(), nested.wildcards(), limit, shareThreshold));
      if (childKey.contains("*")) {
        wildcards.add(new EnvoyRules.Wildcard(childKey, List.of(childKey.split("\\*", -1))));
      }
    }

    private EnvoyRules.Limit rateLimit(Object value, String path, String nodePath, boolean shadow, boolean detailed) {
      if (!(value instanceof Map<?, ?> block)) {
        problem(path, "must be a mapping (unit, requests_per_unit, or unlimited)");
        return null;
      }
      unknownFields(block, RATE_LIMIT_FIELDS, path + ".");
      boolean unlimited = flag(block.get("unlimited"), path + ".unlimited");
      String unitName = text(block.get("unit"), path + ".unit", false);
      EnvoyRules.Unit unit = unitName == null ? null : EnvoyRules.Unit.named(unitName);
      long requestsPerUnit = 0;
      if (unlimited) {
        if (unitName != null) {
          problem(path + ".unit", "must not be set when unlimited is true");
        }
        unit = EnvoyRules.Unit.SECOND;
      } else {
        if (unit == null) {
          problem(path + ".unit", "must be one of second, minute, hour, day, week, month, year, was "
              + (unitName == null ? "missing" : "'" + LimitsParser.printable(unitName) + "'"));
        }
        String requests = text(block.get("requests_per_unit"), path + ".requests_per_unit", false);
        if (requests == null || !requests.matches("\\d{1,10}") || Long.parseLong(requests) > MAX_REQUESTS_PER_UNIT) {
          problem(path + ".requests_per_unit", "must be a whole number from 0 to " + MAX_REQUESTS_PER_UNIT + ", was "
              + (requests == null ? "missing" : "'" + LimitsParser.printable(requests) + "'"));
        } else {
          requestsPerUnit = Long.parseLong(requests);
        }
      }
      String name = text(block.get("name"), path + ".name", false);
      List<String> replaces = replaces(block.get("replaces"), path + ".replaces", name);
      AbusePolicy abuse = null;
      if (block.get("abuse") != null) {
        if (algorithm != Algorithm.TOKEN_BUCKET) {
          problem(path + ".abuse", "needs envoyAlgorithm token_bucket (the fixed window keeps no violations)");
        } else if (block.get("abuse") instanceof Map<?, ?> abuseBlock) {
          List<String> abuseProblems = new ArrayList<>();
          abuse = LimitsParser.parseAbuse(json(abuseBlock), path + ".abuse", abuseProblems);
          abuseProblems.forEach(problem -> problems.add(file + ": " + problem));
        } else {
          problem(path + ".abuse", "must be a mapping like limits.json's abuse");
        }
      }
      FailureMode failureMode = null;
      if (block.get("failure_mode") != null) {
        failureMode = FailureMode.parse(String.valueOf(block.get("failure_mode")).toLowerCase(Locale.ROOT));
        if (failureMode == null) {
          problem(path + ".failure_mode", "must be open, closed or local, was '" + LimitsParser.printable(String.valueOf(block.get("failure_mode"))) + "'");
        }
      }
      if (unit == null) {
        return null;
      }
      return new EnvoyRules.Limit(nodePath, name == null ? "" : name, replaces, requestsPerUnit, unit, unlimited, shadow, detailed, abuse,
          failureMode);
    }

    private List<String> replaces(Object value, String path, String ownName) {
      if (value == null) {
        return List.of();
      }
      if (!(value instanceof List<?> list)) {
        problem(path, "must be a list of {name: ...}");
        return List.of();
      }
      List<String> names = new ArrayList<>();
      for (int i = 0; i < list.size(); i++) {
        String here = path + "[" + i + "]";
        Object entry = list.get(i);
        String name = entry instanceof Map<?, ?> map ? text(map.get("name"), here + ".name", false) : null;
        if (name == null || name.isEmpty()) {
          problem(here, "must name the limit it replaces ({name: ...})");
        } else if (name.equals(ownName)) {
          problem(here + ".name", "must not be the limit's own name");
        } else {
          names.add(name);
        }
      }
      return List.copyOf(names);
    }

    /** YAML's strings, as JSON's numbers where they read as numbers: the abuse block is limits.json's. */
    private static JsonObject json(Map<?, ?> block) {
      JsonObject json = new JsonObject();
      block.forEach((k, v) -> {
        String text = String.valueOf(v);
        Object typed = text;
        try {
          typed = Double.parseDouble(text);
        } catch (NumberFormatException notANumber) {
          // stays a string: "action", "user"
        }
        json.put(String.valueOf(k), typed);
      });
      return json;
    }

    private String text(Object value, String path, boolean required) {
      if (value == null) {
        if (required) {
          problem(path, "is required");
        }
        return null;
      }
      if (value instanceof Map || value instanceof List) {
        problem(path, "must be a single value");
        return null;
      }
      String text = String.valueOf(value);
      if (required && text.isEmpty()) {
        problem(path, "must not be empty");
        return null;
      }
      return text;
    }

    private boolean flag(Object value, String path) {
      if (value == null) {
        return false;
      }
      switch (String.valueOf(value).toLowerCase(Locale.ROOT)) {
        case "true", "yes", "on" -> {
          return true;
        }
        case "false", "no", "off" -> {
          return false;
        }
        default -> {
          problem(path, "must be true or false, was '" + LimitsParser.printable(String.valueOf(value)) + "'");
          return false;
        }
      }
    }

    private void unknownFields(Map<?, ?> map, Set<String> known, String prefix) {
      for (Object field : map.keySet()) {
        if (!known.contains(String.valueOf(field))) {
          problems.add(file + ": " + prefix + LimitsParser.printable(String.valueOf(field)) + " is not a known field (expected one of "
              + new java.util.TreeSet<>(known) + ")");
        }
      }
    }

    private void problem(String path, String message) {
      problems.add(file + ": " + (path.isEmpty() ? "" : path + " ") + message);
    }
  }
}
