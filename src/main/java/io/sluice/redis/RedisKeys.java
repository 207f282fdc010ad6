package io.sluice.redis;

/**
 * Every Redis key and Pub/Sub channel Sluice uses, defined in one place (the README lists them).
 *
 * <p>Keys of the fleet as a whole (published limits, throttle, heartbeats, unban confirmations)
 * share the hash tag {@value #FLEET_TAG}, so that in a Redis Cluster they live in one slot and a
 * transaction or script may touch several of them. Channels are not keys and keep their names.
 *
 * <p>User ids and actions are arbitrary UTF-8. They are escaped so that the encoding is injective
 * and so that the user is the only hash tag: {@code %} becomes {@code %25}, {@code :} {@code %3A},
 * {@code {} {@code %7B} and {@code }} {@code %7D}. With no {@code :} left inside a part, two different
 * (user, action) pairs can never meet in one key; with no brace left, {@code {user}} is the tag that
 * Redis Cluster hashes, so all of one user's keys share a slot and one script may touch them all.
 *
 * <p>Each protocol has its own keys. A subject that is not a native user (an Envoy descriptor) is
 * known inside Sluice by an identity that starts with {@link #ENVOY_SUBJECT}, a control character
 * that no user id may hold (nor an Envoy subject, whose control characters are percent-encoded), so
 * no request field can name one; in its keys its tag is {@code envoy:<subject>}, whose raw {@code :}
 * no escaped user id holds. A native {@code user_id} spelled like an Envoy subject therefore meets
 * none of its buckets, bans or cached answers, and the other way round.
 */
public final class RedisKeys {

  /** The hash tag of the fleet's own keys. */
  public static final String FLEET_TAG = "{sluice}";

  /** Unban notices: every instance drops the bans it cached for that user. */
  public static final String BANS_CHANNEL = "sluice:bans";

  /** Where instances confirm an unban notice (a list per notice id), so the unban returns once all have. */
  public static String unbanAcks(String noticeId) {
    return FLEET_TAG + ":bans:ack:" + noticeId;
  }

  /** Published limits changes: a message per change, applied by every instance. */
  public static final String LIMITS_CHANNEL = "sluice:limits";

  /** The overlay of every published change so far (JSON), read by instances that start or resubscribe. */
  public static final String LIMITS_KEY = FLEET_TAG + ":limits";
  /** Every stored version of the published limits, with who stored it: what a rollback restores (capped). */
  public static final String LIMITS_HISTORY = FLEET_TAG + ":limits:history";

  /** Adaptive throttling: the factor in force per subject ("*" for the backend, else an action). */
  public static final String THROTTLE_FACTORS = FLEET_TAG + ":throttle";
  /** The controller's state per subject (JSON), for status and for a new leader to continue from. */
  public static final String THROTTLE_STATE = FLEET_TAG + ":throttle:state";
  /** Subjects that have latency samples. */
  public static final String THROTTLE_SUBJECTS = FLEET_TAG + ":throttle:subjects";
  /** The lease of the instance that runs the controller. */
  public static final String THROTTLE_LEADER = FLEET_TAG + ":throttle:leader";
  /** The throttle settings the fleet's controller runs with (JSON): those of the instance holding the lease. */
  public static final String THROTTLE_SETTINGS = FLEET_TAG + ":throttle:settings";
  /** Every set of throttle settings a live instance has, and until when (a sorted set), so the lease keeps to those in force. */
  public static final String THROTTLE_CANDIDATES = FLEET_TAG + ":throttle:candidates";

  /** The latency samples of one subject not yet evaluated (a list of ms). */
  public static String throttleSamples(String subject) {
    return FLEET_TAG + ":throttle:samples:" + subject;
  }

  /** Live instances and when each one's announcement ends (a sorted set), for the local failure mode's share. */
  public static final String INSTANCES = FLEET_TAG + ":instances";
  /** Each live instance's status (version, limits digest, readiness, breaker), as its heartbeat last wrote it. */
  public static final String INSTANCE_STATUS = FLEET_TAG + ":instance-status";

  private RedisKeys() {
  }

  /** How an Envoy subject is named where people read and write it: {@code envoy:<subject>}. */
  public static final String ENVOY_NAME_PREFIX = "envoy:";

  /** Envoy subjects longer than this are hashed (a Redis key need not carry a whole URL path). */
  public static final int MAX_ENVOY_SUBJECT_BYTES = 512;

  /** The first character of the identity of an Envoy subject. */
  public static final char ENVOY_SUBJECT = '\u0001';

  /** The identity of an Envoy subject, which no native user id can be. */
  public static String envoySubject(String subject) {
    return ENVOY_SUBJECT + subject;
  }

  /** An identity as a person reads it (logs, the ban records operators list): {@code envoy:<subject>} for an Envoy subject. */
  public static String readable(String identity) {
    return isEnvoySubject(identity) ? ENVOY_NAME_PREFIX + identity.substring(1) : identity;
  }

  /**
   * The identity an operator names in the admin APIs: {@code envoy:<subject>} (as {@link #readable}
   * shows it) is an Envoy subject, anything else a native user id. So a native user id that starts
   * with {@code envoy:} cannot be managed there (its bans end when they expire); a request can
   * still not reach an Envoy subject.
   */
  public static String identityNamed(String name) {
    return name.startsWith(ENVOY_NAME_PREFIX) ? envoySubject(name.substring(ENVOY_NAME_PREFIX.length())) : name;
  }

  public static boolean isEnvoySubject(String identity) {
    return !identity.isEmpty() && identity.charAt(0) == ENVOY_SUBJECT;
  }

  /** The hash tag's content for an identity: the escaped user id, or {@code envoy:} and the escaped Envoy subject. */
  static String tag(String identity) {
    return isEnvoySubject(identity) ? ENVOY_NAME_PREFIX + escape(identity.substring(1)) : escape(identity);
  }

  /** {@code fixed_window:{<tag>}:<rule>}, the counter of a fixed window ({@code {window, count}}). */
  public static String fixedWindow(String identity, String rule) {
    return "fixed_window:{" + tag(identity) + "}:" + escape(rule);
  }

  /** {@code adjusted:{<user>}:<rule>:<id>}: an adjustment id seen, so that a retried settled cost is applied once. */
  public static String adjustment(String userId, String rule, String adjustmentId) {
    return "adjusted:{" + tag(userId) + "}:" + escape(rule) + ":" + escape(adjustmentId);
  }

  /** {@code quota:{<user>}:<rule>}, the use of a rule's calendar quota in its period ({@code {start, used}}). */
  public static String quota(String userId, String rule) {
    return "quota:{" + tag(userId) + "}:" + escape(rule);
  }

  /** {@code rate_limit:{<user>}:<action>}, the token bucket of one user and action. */
  public static String bucket(String userId, String action) {
    return "rate_limit:{" + tag(userId) + "}:" + escape(action);
  }

  /**
   * The keys of one check, escaped once: 3 without an abuse policy, 5 with one, 7 with one in shadow
   * mode (whose bans and history live under {@code shadow_} keys so that they never block).
   */
  public static String[] forCheck(String userId, String action, boolean withAbuse, boolean userScope, boolean shadow) {
    return forCheck(userId, action, withAbuse, userScope, shadow, false);
  }

  /** The same, and last, with {@code withQuota}, {@code quota:{<user>}:<action>}: the use of a calendar quota in its period. */
  public static String[] forCheck(String userId, String action, boolean withAbuse, boolean userScope, boolean shadow, boolean withQuota) {
    String user = tag(userId);
    String act = escape(action);
    String[] keys = new String[(withAbuse ? (shadow ? 7 : 5) : 3) + (withQuota ? 1 : 0)];
    if (withQuota) {
      keys[keys.length - 1] = quota(userId, action);
    }
    keys[0] = "rate_limit:{" + user + "}:" + act;
    keys[1] = "ban:{" + user + "}";
    keys[2] = "ban:{" + user + "}:" + act;
    if (withAbuse) {
      String history = shadow ? "shadow_ban_history:{" : "ban_history:{";
      keys[3] = "violations:{" + user + "}:" + act;
      keys[4] = userScope ? history + user + "}" : history + user + "}:" + act;
      if (shadow) {
        keys[5] = "shadow_ban:{" + user + "}";
        keys[6] = "shadow_ban:{" + user + "}:" + act;
      }
    }
    return keys;
  }

  /** {@code tier:{<user>}}: the plan operators stored for the user (a tier's name), read by the check's own script call. */
  public static String tier(String userId) {
    return "tier:{" + tag(userId) + "}";
  }

  /**
   * {@code override:{<user>}:<rule>}: the user's own numbers for a rule ({capacity, refill}), until the
   * key expires, read by the check's own script call.
   */
  public static String override(String userId, String rule) {
    return "override:{" + tag(userId) + "}:" + escape(rule);
  }

  /** {@code leases:{<user>}:<rule>}: the leases of a rule's concurrency limit the user holds, each with the Redis time it ends. */
  public static String leases(String userId, String rule) {
    return "leases:{" + tag(userId) + "}:" + escape(rule);
  }

  /** {@code ban:{<user>}} for a ban of every action, else {@code ban:{<user>}:<action>}. */
  public static String ban(String userId, String actionOrEmpty) {
    return actionOrEmpty.isEmpty() ? "ban:{" + tag(userId) + "}" : "ban:{" + tag(userId) + "}:" + escape(actionOrEmpty);
  }

  /** {@code violations:{<user>}:<action>}: the recent denials that count toward a ban. */
  public static String violations(String userId, String action) {
    return "violations:{" + tag(userId) + "}:" + escape(action);
  }

  /** A SCAN pattern for every key of one user under {@code prefix}, with glob characters escaped. */
  public static String userPattern(String prefix, String userId) {
    return prefix + ":{" + escapeGlob(tag(userId)) + "}:*";
  }

  /** Percent-encodes {@code % : { }}; every other character stays as it is. */
  static String escape(String part) {
    int i = 0;
    while (i < part.length() && !needsEscape(part.charAt(i))) {
      i++;
    }
    if (i == part.length()) {
      // The common case: nothing to escape, nothing to copy.
      return part;
    }
    StringBuilder out = new StringBuilder(part.length() + 8).append(part, 0, i);
    for (; i < part.length(); i++) {
      char c = part.charAt(i);
      switch (c) {
        case '%' -> out.append("%25");
        case ':' -> out.append("%3A");
        case '{' -> out.append("%7B");
        case '}' -> out.append("%7D");
        default -> out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean needsEscape(char c) {
    return c == '%' || c == ':' || c == '{' || c == '}';
  }

  private static String escapeGlob(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
        out.append('\\');
      }
      out.append(c);
    }
    return out.toString();
  }
}
