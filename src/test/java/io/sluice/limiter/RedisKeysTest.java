package io.sluice.limiter;

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
}
