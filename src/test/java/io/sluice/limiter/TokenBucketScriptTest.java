package io.sluice.limiter;

import io.sluice.limits.AbusePolicy;
import io.sluice.limits.Rule;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** lua/token_bucket.lua's wire format as its header documents it (the tests through Redis run the script itself). */
class TokenBucketScriptTest {

  @Test
  void argumentsAreThreeWithoutAnAbusePolicyAndThirteenWithOne() {
    assertThat(TokenBucketScript.args(new Rule("api", 10, 2.5), "alice", 1L)).containsExactly(10L, 2.5, 1L);
    Rule login = new Rule("login", 5, 1, new AbusePolicy(3, 60_000, 60_000, 2, 3_600_000, 86_400_000, AbusePolicy.Scope.ACTION),
        false, false, null);
    Object[] args = TokenBucketScript.args(login, "al:ice", "1 2 ");
    assertEquals(13, args.length);
    assertThat(args).startsWith(5L, 1.0, "1 2 ", 3L).endsWith("action", "login", "al:ice", "login");
  }

  @Test
  void aReplyWithoutABanHasFiveFieldsAndOneWithABanNine() {
    TokenBucketScript.Reply denied = TokenBucketScript.Reply.decode(new Object[] {0L, 0L, 1200L, 5000L, 2L});
    assertEquals(Decision.Outcome.DENY, denied.outcome());
    assertEquals(1200, denied.retryAfterMs());
    assertEquals(2, denied.violations());
    assertFalse(denied.banCreated());

    TokenBucketScript.Reply banned = TokenBucketScript.Reply.decode(new Object[] {2L, 0L, 60_000L, 0L, 3L, 1L, "action", "3 violations", 1L});
    assertEquals(Decision.Outcome.BAN, banned.outcome());
    assertEquals(60_000, banned.retryAfterMs(), "for a ban, until it ends");
    assertEquals("action", banned.banScope());
    assertTrue(banned.banCreated());
    assertEquals(Decision.Outcome.BAN, TokenBucketScript.Reply.decode(new Object[] {3L, 0L, 1L, 0L, 0L, 1L, "user", "shadow", 0L}).outcome());
  }

  @Test
  void anUnknownCodeIsRefusedRatherThanReadAsADenial() {
    assertThat(assertThrows(IllegalStateException.class, () -> TokenBucketScript.Reply.decode(new Object[] {7L, 0L, 0L, 0L, 0L})))
        .hasMessageContaining("unknown decision code 7");
  }
}
