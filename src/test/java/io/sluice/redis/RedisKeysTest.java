package io.sluice.redis;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class RedisKeysTest {

  @Test
  void keyNamesUserAsHashTagAndAction() {
    assertEquals("rate_limit:{User_123}:login", RedisKeys.bucket("User_123", "login"));
  }

  @Test
  void colonsInsideUserOrActionCannotMakeTwoPairsShareAKey() {
    assertNotEquals(RedisKeys.bucket("a:b", "c"), RedisKeys.bucket("a", "b:c"));
    assertNotEquals(RedisKeys.bucket("a}:b", "c"), RedisKeys.bucket("a", "}:b:c"));
  }

  @Test
  void escapeCharacterItselfIsEscapedSoEncodingIsInjective() {
    assertNotEquals(RedisKeys.bucket("%3A", "x"), RedisKeys.bucket(":", "x"));
    assertEquals("rate_limit:{%253A}:x", RedisKeys.bucket("%3A", "x"));
  }

  @Test
  void bracesInsideUserCannotMoveTheHashTag() {
    String key = RedisKeys.bucket("{evil}x", "lo{g}in");
    assertEquals("rate_limit:{%7Bevil%7Dx}:lo%7Bg%7Din", key);
    assertEquals("%7Bevil%7Dx", hashTag(key));
  }

  @Test
  void allKeysOfOneUserShareTheirHashTag() {
    assertEquals(hashTag(RedisKeys.bucket("u{1}", "login")), hashTag(RedisKeys.bucket("u{1}", "checkout")));
  }

  @Test
  void nonAsciiIsKeptAsIs() {
    assertEquals("rate_limit:{ユーザー}:войти", RedisKeys.bucket("ユーザー", "войти"));
  }

  /** The substring Redis Cluster hashes: between the first '{' and the next '}'. */
  private static String hashTag(String key) {
    int open = key.indexOf('{');
    return key.substring(open + 1, key.indexOf('}', open + 1));
  }

  @Test
  void anEnvoySubjectHasKeysNoUserIdCanSpell() {
    String envoy = RedisKeys.envoySubject("edge/remote_address=203.0.113.7");
    assertEquals("ban:{envoy:edge/remote_address=203.0.113.7}", RedisKeys.ban(envoy, ""));
    assertEquals("fixed_window:{envoy:edge/remote_address=203.0.113.7}:r", RedisKeys.fixedWindow(envoy, "r"));
    for (String user : new String[] {"edge/remote_address=203.0.113.7", "envoy:edge/remote_address=203.0.113.7"}) {
      assertNotEquals(RedisKeys.ban(user, ""), RedisKeys.ban(envoy, ""), user);
      assertNotEquals(RedisKeys.bucket(user, "r"), RedisKeys.bucket(envoy, "r"), user);
      assertNotEquals(java.util.List.of(RedisKeys.forCheck(user, "r", true, true, true)),
          java.util.List.of(RedisKeys.forCheck(envoy, "r", true, true, true)), user);
    }
    assertEquals("envoy:edge/remote_address=203.0.113.7", RedisKeys.readable(envoy));
    assertEquals("alice", RedisKeys.readable("alice"));
  }
}
