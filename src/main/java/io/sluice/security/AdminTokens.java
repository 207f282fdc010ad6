package io.sluice.security;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The admin APIs' bearer tokens, each with a name: who acted, as the audit trail records it. A
 * caller is known by the token it shows, never by the token itself, which appears nowhere else.
 */
public final class AdminTokens {

  private record Named(String name, BearerToken token) {
  }

  private final List<Named> tokens;

  private AdminTokens(List<Named> tokens) {
    this.tokens = tokens;
  }

  /** @return null when there is no admin token: the admin APIs are off */
  public static AdminTokens of(Map<String, String> byName) {
    List<Named> tokens = new ArrayList<>();
    byName.forEach((name, token) -> tokens.add(new Named(name, BearerToken.of(token))));
    return tokens.isEmpty() ? null : new AdminTokens(List.copyOf(tokens));
  }

  /**
   * The name of the token an {@code authorization} header shows; null when it shows none. Every
   * token is compared, so how long the answer takes tells nothing of which one, if any, matched.
   */
  public String actorOf(String authorization) {
    String actor = null;
    for (Named named : tokens) {
      if (named.token().accepts(authorization) && actor == null) {
        actor = named.name();
      }
    }
    return actor;
  }

  @Override
  public String toString() {
    return "AdminTokens" + tokens.stream().map(Named::name).toList();
  }
}
