package io.sluice.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * A secret that a caller shows as {@code authorization: Bearer <token>} (an HTTP header, or gRPC
 * metadata, which travels as one). Compared in constant time, so that how long a refusal takes
 * tells nothing about how much of a guess was right.
 */
public final class BearerToken {

  private final byte[] expected;

  private BearerToken(String token) {
    this.expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
  }

  /** @return null for an empty token: that API is off (admin) or open (reports) */
  public static BearerToken of(String token) {
    return token == null || token.isEmpty() ? null : new BearerToken(token);
  }

  public boolean accepts(String authorization) {
    return authorization != null && MessageDigest.isEqual(authorization.getBytes(StandardCharsets.UTF_8), expected);
  }

  @Override
  public String toString() {
    return "BearerToken[***]";
  }
}
