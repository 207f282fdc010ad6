package io.sluice.limiter;

/**
 * Every Redis key Sluice writes, defined in one place (the README lists them).
 *
 * <p>User ids and actions are arbitrary UTF-8. They are escaped so that the encoding is injective
 * and so that the user is the only hash tag: {@code %} becomes {@code %25}, {@code :} {@code %3A},
 * {@code {} {@code %7B} and {@code }} {@code %7D}. With no {@code :} left inside a part, two different
 * (user, action) pairs can never meet in one key; with no brace left, {@code {user}} is the tag that
 * Redis Cluster hashes, so all of one user's keys share a slot.
 */
public final class RedisKeys {

  private RedisKeys() {
  }

  /** {@code rate_limit:{<user>}:<action>}, the token bucket of one user and action. */
  public static String bucket(String userId, String action) {
    StringBuilder key = new StringBuilder(16 + userId.length() + action.length());
    key.append("rate_limit:{");
    escape(userId, key);
    key.append("}:");
    escape(action, key);
    return key.toString();
  }

  /** Appends {@code part} with {@code % : { }} percent-encoded; every other character stays as it is. */
  static void escape(String part, StringBuilder out) {
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      switch (c) {
        case '%' -> out.append("%25");
        case ':' -> out.append("%3A");
        case '{' -> out.append("%7B");
        case '}' -> out.append("%7D");
        default -> out.append(c);
      }
    }
  }
}
