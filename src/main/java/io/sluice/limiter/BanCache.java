package io.sluice.limiter;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bans this instance has seen, remembered until they end, so that a banned user hammering an
 * account costs no Redis work. Shared by every event loop of the process.
 *
 * <p>It never outlives an unban: it only answers while the Pub/Sub subscription that carries unban
 * notices is up ({@link #setLive}); losing the subscription empties it. A check that was already
 * in Redis when an unban arrived cannot put the lifted ban back: {@link #remember} is refused when
 * an invalidation happened since the check began ({@link #epoch}).
 */
public final class BanCache {

  /** Beyond this many users, bans are not cached (Redis still enforces them). */
  public static final int MAX_USERS = 100_000;

  /** A ban as cached: when it ends on this JVM's clock, and what to tell the backend. */
  record Entry(long untilNanos, int level, String scope, String reason, int violations) {
  }

  /** The action key under which a ban of every action is kept; real actions are never empty. */
  private static final String EVERY_ACTION = "";

  private final Map<String, Map<String, Entry>> byUser = new ConcurrentHashMap<>();
  private final AtomicLong epoch = new AtomicLong();
  private volatile boolean live;

  /** Turns the cache on when unban notices flow, and off (and empty) when they may not. */
  public void setLive(boolean live) {
    this.live = live;
    if (!live) {
      clear();
    }
  }

  public boolean isLive() {
    return live;
  }

  /** Read before a check goes to Redis; hand it back to {@link #remember}. */
  public long epoch() {
    return epoch.get();
  }

  /** The ban in force for this check, or null. */
  Entry lookup(String userId, String action, long nowNanos) {
    if (!live) {
      return null;
    }
    Map<String, Entry> bans = byUser.get(userId);
    if (bans == null) {
      return null;
    }
    Entry every = current(bans, EVERY_ACTION, nowNanos);
    Entry one = current(bans, action, nowNanos);
    if (every == null) {
      return one;
    }
    return one == null || every.untilNanos >= one.untilNanos ? every : one;
  }

  private static Entry current(Map<String, Entry> bans, String action, long nowNanos) {
    Entry entry = bans.get(action);
    if (entry == null) {
      return null;
    }
    if (entry.untilNanos - nowNanos <= 0) {
      bans.remove(action, entry);
      return null;
    }
    return entry;
  }

  /** Remembers a ban that Redis reported, unless an invalidation happened since {@code epochAtStart}. */
  void remember(String userId, String actionOrEmpty, Entry entry, long epochAtStart) {
    if (!live || epoch.get() != epochAtStart || (byUser.size() >= MAX_USERS && !byUser.containsKey(userId))) {
      return;
    }
    byUser.computeIfAbsent(userId, user -> new ConcurrentHashMap<>(4)).put(actionOrEmpty, entry);
    // An invalidation may have run between the check above and the put: then undo the put.
    if (epoch.get() != epochAtStart) {
      forget(userId, actionOrEmpty);
    }
  }

  void remember(String userId, boolean everyAction, String action, Entry entry, long epochAtStart) {
    remember(userId, everyAction ? EVERY_ACTION : action, entry, epochAtStart);
  }

  /** Drops the cached ban of one action, or all of the user's when {@code actionOrEmpty} is empty. */
  public void invalidate(String userId, String actionOrEmpty) {
    epoch.incrementAndGet();
    forget(userId, actionOrEmpty);
  }

  private void forget(String userId, String actionOrEmpty) {
    if (actionOrEmpty.isEmpty()) {
      byUser.remove(userId);
    } else {
      Map<String, Entry> bans = byUser.get(userId);
      if (bans != null) {
        bans.remove(actionOrEmpty);
      }
    }
  }

  public void clear() {
    epoch.incrementAndGet();
    byUser.clear();
  }

  /** Drops ended bans; run now and then so that users who never return do not stay in memory. */
  public void sweep(long nowNanos) {
    byUser.values().forEach(bans -> bans.values().removeIf(entry -> entry.untilNanos - nowNanos <= 0));
    byUser.values().removeIf(Map::isEmpty);
  }

  /** How many users have a cached ban. */
  public int size() {
    return byUser.size();
  }
}
