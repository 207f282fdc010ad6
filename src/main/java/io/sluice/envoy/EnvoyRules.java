package io.sluice.envoy;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.sluice.config.FailureMode;
import io.sluice.limits.AbusePolicy;
import io.sluice.limits.Rule;

import io.sluice.redis.RedisKeys;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * envoyproxy/ratelimit's rules, parsed ({@link EnvoyRulesParser}): domains, each a tree of
 * descriptor nodes, and how a request's descriptor finds its limit. The matching is envoyproxy/ratelimit's:
 * entry by entry down the tree, {@code key_value} first, then a wildcard value, then the key alone;
 * the limit is the one on the node reached by the last entry, if any. Immutable.
 *
 * @param domains by name
 * @param digest  a fingerprint of the files: instances with the same digest enforce the same rules
 */
public record EnvoyRules(Map<String, Node> domains, String digest) {

  /** The units of a rate_limit, with their length in seconds as envoyproxy/ratelimit counts them. */
  public enum Unit {
    SECOND(1, RateLimitResponse.RateLimit.Unit.SECOND),
    MINUTE(60, RateLimitResponse.RateLimit.Unit.MINUTE),
    HOUR(3600, RateLimitResponse.RateLimit.Unit.HOUR),
    DAY(86_400, RateLimitResponse.RateLimit.Unit.DAY),
    WEEK(7 * 86_400, RateLimitResponse.RateLimit.Unit.WEEK),
    MONTH(30 * 86_400, RateLimitResponse.RateLimit.Unit.MONTH),
    YEAR(365 * 86_400, RateLimitResponse.RateLimit.Unit.YEAR);

    public final long seconds;
    final RateLimitResponse.RateLimit.Unit wire;

    Unit(long seconds, RateLimitResponse.RateLimit.Unit wire) {
      this.seconds = seconds;
      this.wire = wire;
    }

    /** A unit as the rule files name it (any case), or null. */
    static Unit named(String name) {
      for (Unit unit : values()) {
        if (unit.name().equalsIgnoreCase(name)) {
          return unit;
        }
      }
      return null;
    }

    /** type.v3.RateLimitUnit's WEEK, newer than the Envoy API this build compiles against. */
    static final int WEEK_ON_THE_WIRE = 7;

    /** The unit of a descriptor's limit override (type.v3.RateLimitUnit), or null when unknown. */
    static Unit ofOverride(io.envoyproxy.envoy.type.v3.RateLimitUnit unit, int number) {
      if (number == WEEK_ON_THE_WIRE) {
        return WEEK;
      }
      return switch (unit) {
        case SECOND -> SECOND;
        case MINUTE -> MINUTE;
        case HOUR -> HOUR;
        case DAY -> DAY;
        case MONTH -> MONTH;
        case YEAR -> YEAR;
        default -> null;
      };
    }
  }

  /**
   * A {@code rate_limit} block: what a descriptor that reaches its node is limited to.
   *
   * @param path            where it is: the domain and the node keys ({@code edge.remote_address}), naming its
   *                        bucket and its metrics
   * @param name            the name that {@code replaces} refers to; empty for none
   * @param replaces        names of limits this one replaces when both apply to a request
   * @param requestsPerUnit 0 refuses everything (a blocklist)
   * @param detailedMetric  count this limit under the request's values, not only the rule's path
   * @param shareThreshold  every value matched by the node's wildcard shares one bucket
   * @param abuse           a Sluice abuse policy (token_bucket only); null for none
   * @param failureMode     the answer while Redis is unavailable; null for the failureMode setting
   */
  public record Limit(String path, String name, List<String> replaces, long requestsPerUnit, Unit unit, boolean unlimited,
                      boolean shadow, boolean detailedMetric, AbusePolicy abuse, FailureMode failureMode) {

    /** The Sluice token bucket of this limit: requests_per_unit tokens, refilled at requests_per_unit per unit. */
    public Rule rule() {
      return new Rule("envoy:" + path, requestsPerUnit, (double) requestsPerUnit / unit.seconds, abuse, shadow, false, failureMode);
    }

    /** As envoyproxy/ratelimit reports it in a descriptor's status. */
    public RateLimitResponse.RateLimit wire() {
      return RateLimitResponse.RateLimit.newBuilder().setRequestsPerUnit((int) requestsPerUnit).setUnit(unit.wire).setName(name).build();
    }
  }

  /**
   * One level of the tree: the children by {@code key_value} (or {@code key} for a value-less
   * entry), the children whose value has a {@code *} as patterns, and the limit here, if any.
   */
  public record Node(Map<String, Node> children, List<Wildcard> wildcards, Limit limit, boolean shareThreshold) {
  }

  /** A child whose value holds {@code *}: its map key ({@code key_value*}) split on the stars. */
  public record Wildcard(String childKey, List<String> parts) {

    boolean matches(String keyValue) {
      if (parts.size() == 1) {
        return parts.get(0).equals(keyValue);
      }
      String first = parts.get(0);
      String last = parts.get(parts.size() - 1);
      int fixed = 0;
      for (String part : parts) {
        fixed += part.length();
      }
      if (!keyValue.startsWith(first) || !keyValue.endsWith(last) || keyValue.length() < fixed) {
        return false;
      }
      int from = first.length();
      int to = keyValue.length() - last.length();
      for (String part : parts.subList(1, parts.size() - 1)) {
        int at = keyValue.indexOf(part, from);
        if (at < 0 || at + part.length() > to) {
          return false;
        }
        from = at + part.length();
      }
      return true;
    }
  }

  /**
   * What a request's descriptor is limited by, and the identity of its bucket.
   *
   * @param limit   the limit that applies
   * @param subject the descriptor as its bucket knows it: the domain and the entries, values replaced by the
   *                wildcard pattern where the node shares its threshold
   * @param metricPath the rule's path, with the request's values when the limit asks for detailed metrics
   */
  public record Match(Limit limit, String subject, String metricPath) {
  }

  /**
   * The limit of one descriptor of a request to {@code domain}, or null when none applies (an
   * unknown domain, or no node with a limit reached by the descriptor's last entry). A descriptor
   * that carries its own limit (an override) is limited by it, when the domain is known.
   */
  public Match match(String domain, RateLimitDescriptor descriptor) {
    Node node = domains.get(domain);
    if (node == null) {
      return null;
    }
    if (descriptor.hasLimit()) {
      Unit unit = Unit.ofOverride(descriptor.getLimit().getUnit(), descriptor.getLimit().getUnitValue());
      if (unit == null) {
        return null;
      }
      Limit override = new Limit(domain + ".override", "", List.of(), Integer.toUnsignedLong(descriptor.getLimit().getRequestsPerUnit()),
          unit, false, false, false, null, null);
      return new Match(override, subject(domain, descriptor, null), override.path());
    }
    Node level = node;
    String[] shared = null;
    int entries = descriptor.getEntriesCount();
    for (int i = 0; i < entries; i++) {
      RateLimitDescriptor.Entry entry = descriptor.getEntries(i);
      String keyValue = entry.getKey() + "_" + entry.getValue();
      Node next = level.children().get(keyValue);
      if (next == null) {
        for (Wildcard wildcard : level.wildcards()) {
          if (wildcard.matches(keyValue)) {
            next = level.children().get(wildcard.childKey());
            if (next != null && next.shareThreshold()) {
              shared = shared == null ? new String[entries] : shared;
              shared[i] = wildcard.childKey().substring(entry.getKey().length() + 1);
            }
            break;
          }
        }
      }
      if (next == null) {
        next = level.children().get(entry.getKey());
      }
      if (next == null) {
        return null;
      }
      if (i == entries - 1) {
        if (next.limit() == null) {
          return null;
        }
        Limit limit = next.limit();
        return new Match(limit, subject(domain, descriptor, shared),
            limit.detailedMetric() ? limit.path() + "(" + subject(domain, descriptor, shared) + ")" : limit.path());
      }
      if (next.children().isEmpty()) {
        return null;
      }
      level = next;
    }
    return null;
  }

  /**
   * The descriptor as one string, the same for the same descriptor and different for different
   * ones: {@code domain/key=value/key=value}, with {@code %}, {@code /}, {@code =} and control
   * characters percent-encoded so that no value can pass for another descriptor, and nothing
   * unprintable reaches a log line.
   */
  static String subject(String domain, RateLimitDescriptor descriptor, String[] sharedValues) {
    StringBuilder subject = new StringBuilder(64);
    escape(domain, subject);
    for (int i = 0; i < descriptor.getEntriesCount(); i++) {
      RateLimitDescriptor.Entry entry = descriptor.getEntries(i);
      subject.append('/');
      escape(entry.getKey(), subject);
      subject.append('=');
      escape(sharedValues != null && sharedValues[i] != null ? sharedValues[i] : entry.getValue(), subject);
    }
    String text = subject.toString();
    int maxBytes = RedisKeys.MAX_ENVOY_SUBJECT_BYTES;
    if (text.length() * 3 <= maxBytes || text.getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
      return text;
    }
    try {
      return escapedDomainPrefix(domain) + "/sha256:"
          + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private static String escapedDomainPrefix(String domain) {
    StringBuilder out = new StringBuilder();
    escape(domain, out);
    return out.toString();
  }

  private static void escape(String part, StringBuilder out) {
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      if (c == '%' || c == '/' || c == '=' || Character.isISOControl(c) || c == '\u2028' || c == '\u2029') {
        out.append('%').append(String.format("%02X", (int) c));
      } else {
        out.append(c);
      }
    }
  }
}
