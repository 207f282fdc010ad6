package io.sluice.redis;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.EnumMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.LongAdder;

/**
 * Faults on the check path, counted by kind and logged with their cause once per kind and minute,
 * not once per check. Each logged incident has an id; a caller's error carries the id of the
 * incident its check belongs to, so operators find the details from what a client reports.
 */
public final class RedisFaults {

  private static final Logger log = LoggerFactory.getLogger(RedisFaults.class);
  private static final long LOG_EVERY_NANOS = 60_000_000_000L;

  private final Map<RedisFault, LongAdder> counts = new EnumMap<>(RedisFault.class);
  private final Map<RedisFault, Incident> incidents = new EnumMap<>(RedisFault.class);

  private record Incident(String id, long loggedAtNanos, long countAtLog) {
  }

  public RedisFaults() {
    for (RedisFault fault : RedisFault.values()) {
      counts.put(fault, new LongAdder());
    }
  }

  /**
   * Counts a fault, logs it when it is the first of its kind this minute, and returns the id of
   * the incident it belongs to.
   */
  public String record(RedisFault fault, String detail) {
    counts.get(fault).increment();
    long now = System.nanoTime();
    synchronized (incidents) {
      Incident current = incidents.get(fault);
      if (current != null && now - current.loggedAtNanos() < LOG_EVERY_NANOS) {
        return current.id();
      }
      long total = counts.get(fault).sum();
      long since = current == null ? 0 : total - 1 - current.countAtLog();
      Incident next = new Incident(UUID.randomUUID().toString().substring(0, 8), now, total);
      incidents.put(fault, next);
      log.error("redis {} fault (error id {}): {}{}", fault.label(), next.id(), detail,
          since > 0 ? " (" + since + " more of this kind since the last report)" : "; more of this kind within a minute are only counted");
      return next.id();
    }
  }

  public long count(RedisFault fault) {
    return counts.get(fault).sum();
  }
}
