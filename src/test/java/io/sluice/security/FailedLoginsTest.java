package io.sluice.security;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Wrong admin tokens per client: whose they are, and for how long they hold the client back. */
class FailedLoginsTest {

  private static final long MINUTE = TimeUnit.MINUTES.toNanos(1);

  @Test
  void tenWrongTokensHoldTheClientBackForTheRestOfItsMinuteAndNoLonger() {
    FailedLogins failed = new FailedLogins(List.of());
    long start = 5 * MINUTE;
    for (int i = 0; i < FailedLogins.MAX_FAILURES - 1; i++) {
      failed.failed("192.0.2.1", start);
    }
    assertEquals(0, failed.retryAfterMs("192.0.2.1", start), "nine are not ten");
    failed.failed("192.0.2.1", start);
    assertEquals(60_000, failed.retryAfterMs("192.0.2.1", start));
    assertEquals(15_000, failed.retryAfterMs("192.0.2.1", start + TimeUnit.SECONDS.toNanos(45)));
    assertEquals(0, failed.retryAfterMs("192.0.2.1", start + MINUTE));
    assertEquals(0, failed.retryAfterMs("192.0.2.2", start), "another client is another count");
  }

  @Test
  void onlyATrustedProxySaysWhoseRequestItIsAndAnIpv6ClientIsItsSlash64() {
    FailedLogins failed = new FailedLogins(List.of("10.0.0.7", "fd00::7"));
    assertEquals("198.51.100.9", failed.clientOf("10.0.0.7", "203.0.113.1, 198.51.100.9"),
        "the address the proxy saw, not what the client claimed before it");
    assertEquals("198.51.100.9", failed.clientOf("fd00:0:0:0:0:0:0:7", "198.51.100.9, 10.0.0.7"),
        "a chain of trusted proxies is walked back to the first address none of them is");
    assertEquals("192.0.2.5", failed.clientOf("192.0.2.5", "198.51.100.9"), "anyone else's header is ignored");
    assertEquals("2001:db8:1:2::/64", failed.clientOf("2001:db8:1:2:aaaa:bbbb:cccc:dddd", null));
    assertEquals(failed.clientOf("2001:db8:1:2::1", null), failed.clientOf("2001:db8:1:2:ffff::9", null));
    assertTrue(io.sluice.config.Settings.isIpLiteral("fd00::7") && io.sluice.config.Settings.isIpLiteral("10.0.0.7")
        && !io.sluice.config.Settings.isIpLiteral("proxy.internal"));
  }
}
