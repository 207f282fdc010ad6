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

  private static final QuotaPeriods NO_QUOTAS = new QuotaPeriods(QuotaClock.SYSTEM);

  @Test
  void argumentsAreThreeWithoutAnAbusePolicyAndThirteenWithOne() {
    assertThat(TokenBucketScript.args(new Rule("api", 10, 2.5), "alice", 1L, NO_QUOTAS)).containsExactly(10L, 2.5, 1L);
    Rule login = new Rule("login", 5, 1, new AbusePolicy(3, 60_000, 60_000, 2, 3_600_000, 86_400_000, AbusePolicy.Scope.ACTION),
        false, false, null);
    Object[] args = TokenBucketScript.args(login, "al:ice", "1 2 ", NO_QUOTAS);
    assertEquals(13, args.length);
    assertThat(args).startsWith(5L, 1.0, "1 2 ", 3L).endsWith("action", "login", "al:ice", "login");
  }

  @Test
  void aQuotaAddsSevenArgumentsAfterTheRulesAndItsReplySixteenFields() {
    Rule daily = new Rule("api", 10, 2.5, null, false, false, null, false, null,
        new io.sluice.limits.QuotaPolicy(100, io.sluice.limits.QuotaPolicy.Period.DAY, java.time.ZoneOffset.UTC, false));
    QuotaPeriods periods = new QuotaPeriods(new QuotaClock(() -> 86_400_000L * 3 + 5, () -> 0));
    assertThat(TokenBucketScript.args(daily, "alice", 1L, periods))
        .containsExactly(10L, 2.5, 1L, 100L, 86_400_000L * 2, 86_400_000L * 3, 86_400_000L * 4, 86_400_000L * 5, 0L, "0");
    TokenBucketScript.Reply refused = TokenBucketScript.Reply.decode(new Object[] {0L, 3L, 7000L, 0L, 0L, 0L, "", "", 0L, "", 0L, "", "",
        "quota", 0L, 7000L});
    assertTrue(refused.quotaRefused());
    assertTrue(refused.counted());
    assertEquals(7000, refused.quotaResetAfterMs());
    assertFalse(TokenBucketScript.Reply.decode(new Object[] {1L, 3L, 0L, 0L, 0L}).counted());
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
