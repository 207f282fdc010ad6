package io.sluice.telemetry;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The users this instance refused most in the last minutes (and those a shadow rule would have
 * refused), for the console: a heavy-hitters count (Space-Saving) of one refusal in
 * {@link #SAMPLE_EVERY}, so an attack's flood of refusals costs the check path one increment for the
 * rest; halved every minute, so it forgets. Bounded: {@link #CAPACITY} users of each kind, each id
 * cut to {@link #MAX_ID_CHARS}. Counts are estimates (sampled), good for who stands out.
 */
public final class TopLimited {

  public static final int CAPACITY = 64;
  static final int SAMPLE_EVERY = 4;
  private static final int MAX_ID_CHARS = 128;

  /** What was refused, and what shadow mode let through that enforcing would have refused. */
  public enum Kind {
    LIMITED, SHADOW
  }

  private record Key(String rule, String user) {
  }

  private final AtomicLong seen = new AtomicLong();
  private final Map<Kind, Map<Key, long[]>> counts = Map.of(Kind.LIMITED, new HashMap<>(), Kind.SHADOW, new HashMap<>());

  /** One refusal (or would-be refusal) of {@code user} by {@code rule}: counted when sampled. */
  public void refused(Kind kind, String rule, String user) {
    if (seen.incrementAndGet() % SAMPLE_EVERY != 0) {
      return;
    }
    Key key = new Key(rule, user.length() > MAX_ID_CHARS ? user.substring(0, MAX_ID_CHARS) : user);
    Map<Key, long[]> of = counts.get(kind);
    synchronized (of) {
      long[] count = of.get(key);
      if (count != null) {
        count[0] += SAMPLE_EVERY;
      } else if (of.size() < CAPACITY) {
        of.put(key, new long[] {SAMPLE_EVERY});
      } else {
        // Space-Saving: the newcomer takes the place of the least counted, and its count, so a user who
        // keeps being refused climbs past those seen once.
        Map.Entry<Key, long[]> least = null;
        for (Map.Entry<Key, long[]> entry : of.entrySet()) {
          if (least == null || entry.getValue()[0] < least.getValue()[0]) {
            least = entry;
          }
        }
        long floor = least.getValue()[0];
        of.remove(least.getKey());
        of.put(key, new long[] {floor + SAMPLE_EVERY});
      }
    }
  }

  /** Halves every count, dropping those that reach zero: what was refused minutes ago fades. */
  public void decay() {
    for (Map<Key, long[]> of : counts.values()) {
      synchronized (of) {
        of.values().forEach(count -> count[0] /= 2);
        of.values().removeIf(count -> count[0] == 0);
      }
    }
  }

  /** The {@code n} most refused, most first: rule, user and the estimated count. */
  public JsonArray top(Kind kind, int n) {
    List<Map.Entry<Key, Long>> entries = new ArrayList<>();
    Map<Key, long[]> of = counts.get(kind);
    synchronized (of) {
      of.forEach((key, count) -> entries.add(Map.entry(key, count[0])));
    }
    entries.sort(Map.Entry.<Key, Long>comparingByValue().reversed());
    JsonArray top = new JsonArray();
    for (int i = 0; i < Math.min(n, entries.size()); i++) {
      top.add(new JsonObject().put("rule", entries.get(i).getKey().rule()).put("user", entries.get(i).getKey().user())
          .put("refusals", entries.get(i).getValue()));
    }
    return top;
  }
}
