package io.sluice.security;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Wrong admin tokens, counted per client address: past {@link #MAX_FAILURES} in a minute, that
 * address is refused (429 over HTTP) until the minute is over, whatever token it shows, so that
 * guessing a token over the admin HTTP API or the console's login form (one count) costs a minute
 * per ten guesses, and so does the gRPC Admin service (a count of its own, answered
 * {@code RESOURCE_EXHAUSTED}). A refusal never says whether its token was right. An IPv6 address
 * counts as its /64, which one client holds whole. Bounded: the {@link #MAX_ADDRESSES} addresses
 * that failed most recently are kept. Behind a proxy every caller has the proxy's address and shares its count, unless the proxy
 * is trusted to say whose request it is ({@link #clientOf}). Times are the JVM's monotonic clock.
 * Thread-safe: every gRPC event loop shares the gRPC port's (a wrong token is rare, never on a
 * check's path).
 */
public final class FailedLogins {

  public static final int MAX_FAILURES = 10;
  public static final long WINDOW_MS = 60_000;
  private static final long WINDOW_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(WINDOW_MS);
  static final int MAX_ADDRESSES = 4096;

  /** Per address: when its window began, and the failures in it. */
  private final Map<String, long[]> failures = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
      return size() > MAX_ADDRESSES;
    }
  };

  private final java.util.Set<String> trustedProxies;

  /** @param trustedProxies the addresses of proxies whose {@code X-Forwarded-For} names the client */
  public FailedLogins(java.util.List<String> trustedProxies) {
    this.trustedProxies = java.util.Set.copyOf(trustedProxies.stream().map(FailedLogins::normalized).toList());
  }

  /**
   * Whose request this is, as counted: the peer's address, or, from a trusted proxy, the last address
   * of {@code X-Forwarded-For} that is not itself a trusted proxy (the one the nearest proxy saw; the
   * earlier ones are the client's own claim).
   */
  public String clientOf(String peer, String forwardedFor) {
    String client = normalized(peer);
    if (forwardedFor != null && trustedProxies.contains(client)) {
      String[] hops = forwardedFor.split(",");
      for (int i = hops.length - 1; i >= 0; i--) {
        String hop = normalized(hops[i].strip());
        client = hop;
        if (!trustedProxies.contains(hop)) {
          break;
        }
      }
    }
    return counted(client);
  }

  /** Ms until {@code client} may show a token again; 0 when it may now. */
  public synchronized long retryAfterMs(String client, long nowNanos) {
    long[] window = failures.get(client);
    if (window == null || nowNanos - window[0] >= WINDOW_NANOS) {
      return 0;
    }
    return window[1] >= MAX_FAILURES ? Math.max(1, java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(WINDOW_NANOS - (nowNanos - window[0]))) : 0;
  }

  /** Whole seconds, rounded up, as {@code Retry-After} says it. */
  public static long retryAfterSeconds(long retryAfterMs) {
    return (retryAfterMs + 999) / 1000;
  }

  /** What a caller refused for its wrong tokens is told: by the admin API, the console and the gRPC Admin service alike. */
  public static String tooManyWrongTokens(long retryAfterMs) {
    return "too many wrong admin tokens from this address: try again in " + retryAfterSeconds(retryAfterMs) + " s";
  }

  /** {@code client} showed a token that opens nothing. */
  public synchronized void failed(String client, long nowNanos) {
    long[] window = failures.get(client);
    if (window == null || nowNanos - window[0] >= WINDOW_NANOS) {
      failures.put(client, new long[] {nowNanos, 1});
    } else {
      window[1]++;
    }
  }

  /** An address in one spelling ({@code ::1} and {@code 0:0:0:0:0:0:0:1} alike); text that is no address literal as it is. */
  static String normalized(String address) {
    if (address == null) {
      return "";
    }
    String bare = address.startsWith("[") && address.endsWith("]") ? address.substring(1, address.length() - 1) : address;
    if (!io.sluice.config.Settings.isIpLiteral(bare)) {
      return bare;
    }
    try {
      // A literal is parsed, never looked up.
      return java.net.InetAddress.getByName(bare).getHostAddress();
    } catch (java.net.UnknownHostException e) {
      return bare;
    }
  }


  /** What a count is kept under: an IPv4 address, or an IPv6 address's first 64 bits. */
  private static String counted(String address) {
    if (!address.contains(":")) {
      return address;
    }
    String[] groups = address.split("%")[0].split(":");
    return groups.length >= 4 ? String.join(":", groups[0], groups[1], groups[2], groups[3]) + "::/64" : address;
  }
}
