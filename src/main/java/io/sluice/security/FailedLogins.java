package io.sluice.security;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Wrong admin tokens, counted per client address: past {@link #MAX_FAILURES} in a minute, that
 * address is refused (429) until the minute is over, whatever token it shows, so that guessing a
 * token over the admin HTTP API or the console's login form costs a minute per ten guesses. A
 * refusal never says whether its token was right. Bounded: the {@link #MAX_ADDRESSES} addresses that
 * failed most recently are kept. Behind a proxy every caller has the proxy's address and shares its
 * count. Not thread-safe: used on the ops verticle's event loop.
 */
public final class FailedLogins {

  public static final int MAX_FAILURES = 10;
  public static final long WINDOW_MS = 60_000;
  static final int MAX_ADDRESSES = 4096;

  /** Per address: when its window began, and the failures in it. */
  private final Map<String, long[]> failures = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
      return size() > MAX_ADDRESSES;
    }
  };

  /** Ms until {@code address} may show a token again; 0 when it may now. */
  public long retryAfterMs(String address, long nowMs) {
    long[] window = failures.get(address);
    if (window == null || nowMs - window[0] >= WINDOW_MS) {
      return 0;
    }
    return window[1] >= MAX_FAILURES ? WINDOW_MS - (nowMs - window[0]) : 0;
  }

  /** {@code address} showed a token that opens nothing. */
  public void failed(String address, long nowMs) {
    long[] window = failures.get(address);
    if (window == null || nowMs - window[0] >= WINDOW_MS) {
      failures.put(address, new long[] {nowMs, 1});
    } else {
      window[1]++;
    }
  }
}
