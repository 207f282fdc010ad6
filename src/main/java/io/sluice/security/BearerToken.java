package io.sluice.security;

/**
 * A {@link Secret} that a caller shows as {@code authorization: Bearer <token>} (an HTTP header, or
 * gRPC metadata, which travels as one).
 */
public final class BearerToken {

  private final Secret expected;

  private BearerToken(String token) {
    this.expected = new Secret("Bearer " + token);
  }

  /** @return null for an empty token: that API is off (admin) or open (reports) */
  public static BearerToken of(String token) {
    return token == null || token.isEmpty() ? null : new BearerToken(token);
  }

  public boolean accepts(String authorization) {
    return expected.matches(authorization);
  }

  @Override
  public String toString() {
    return "BearerToken[***]";
  }
}
