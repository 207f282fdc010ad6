package io.sluice.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * A secret a caller has to show. Compared in constant time, so that how long a refusal takes tells
 * nothing about how much of a guess was right.
 */
public final class Secret {

  private final byte[] expected;

  public Secret(String value) {
    this.expected = value.getBytes(StandardCharsets.UTF_8);
  }

  public boolean matches(String shown) {
    return shown != null && MessageDigest.isEqual(shown.getBytes(StandardCharsets.UTF_8), expected);
  }

  @Override
  public String toString() {
    return "Secret[***]";
  }
}
