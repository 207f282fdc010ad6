package io.sluice.limiter;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bans this instance has seen, remembered until they end, so that a banned user hammering an
 * account costs no Redis work. Shared by every event loop of the process; bounded by bytes
 * ({@link LruBytes}): past its budget the least recently used users go, never the one hammering.
 *
 * <p>A ban known here holds until it ends, whatever Redis or the Pub/Sub subscription does: an
 * attacker who can slow Redis must not escape a ban by it. The price is an unban made while this
 * instance could not hear of it; so when the subscription comes back, {@link BanReconciler} asks
 * Redis about every ban cached here and drops those Redis no longer has. A check that was already
 * in Redis when an unban arrived cannot put the lifted ban back: {@link #remember} is refused when
 * an invalidation happened since the check began ({@link #epoch}).
 */
public final class BanCache {

  /** A ban as cached: when it ends on the instance's decision clock (Sluice#start), and what to tell the backend. */
  record Entry(long untilNanos, int level, String scope, String reason, int violations) {

    long bytes() {
      return 64 + LruBytes.stringBytes(scope) + LruBytes.stringBytes(reason);
    }
  }

  /** One cached ban, as {@link #cached()} lists them. */
  public record Cached(String userId, String actionOrEmpty, Object entry) {
  }

  /** The action key under which a ban of every action is kept; real actions are never empty. */
  private static final String EVERY_ACTION = "";

  /** Per user, an immutable map from action (or every action) to its ban: replaced whole on change. */
  private final LruBytes<String, Map<String, Entry>> byUser;
  private final AtomicLong epoch = new AtomicLong();
  private volatile boolean unbansArrive;

  public BanCache(long budgetBytes) {
    this.byUser = new LruBytes<>(budgetBytes);
  }

  /** Whether unban notices reach this instance now (the subscription is up): only shown, bans hold either way. */
  public void unbansArrive(boolean now) {
    this.unbansArrive = now;
  }

  public boolean unbansArrive() {
    return unbansArrive;
  }

  /** Read before a check goes to Redis; hand it back to {@link #remember}. */
  public long epoch() {
    return epoch.get();
  }

  /** The ban in force for this check, or null. */
  Entry lookup(String userId, String action, long nowNanos) {
    Map<String, Entry> bans = byUser.get(userId);
    if (bans == null) {
      return null;
    }
    Entry every = current(bans.get(EVERY_ACTION), nowNanos);
    Entry one = current(bans.get(action), nowNanos);
    if (every == null) {
      return one;
    }
    return one == null || every.untilNanos >= one.untilNanos ? every : one;
  }

  private static Entry current(Entry entry, long nowNanos) {
    return entry == null || entry.untilNanos - nowNanos <= 0 ? null : entry;
  }

  /** Remembers a ban that Redis reported, unless an invalidation happened since {@code epochAtStart}. */
  synchronized void remember(String userId, String actionOrEmpty, Entry entry, long epochAtStart) {
    if (epoch.get() != epochAtStart) {
      return;
    }
    Map<String, Entry> bans = new HashMap<>(byUser.getOrDefault(userId, Map.of()));
    bans.put(actionOrEmpty, entry);
    store(userId, bans);
  }

  void remember(String userId, boolean everyAction, String action, Entry entry, long epochAtStart) {
    remember(userId, everyAction ? EVERY_ACTION : action, entry, epochAtStart);
  }

  private void store(String userId, Map<String, Entry> bans) {
    if (bans.isEmpty()) {
      byUser.remove(userId);
      return;
    }
    long bytes = LruBytes.ENTRY_OVERHEAD_BYTES + LruBytes.stringBytes(userId);
    for (Map.Entry<String, Entry> ban : bans.entrySet()) {
      bytes += LruBytes.ENTRY_OVERHEAD_BYTES + LruBytes.stringBytes(ban.getKey()) + ban.getValue().bytes();
    }
    byUser.put(userId, Map.copyOf(bans), bytes);
  }

  /** Drops the cached ban of one action, or all of the user's when {@code actionOrEmpty} is empty. */
  public synchronized void invalidate(String userId, String actionOrEmpty) {
    epoch.incrementAndGet();
    if (actionOrEmpty.isEmpty()) {
      byUser.remove(userId);
      return;
    }
    Map<String, Entry> bans = byUser.get(userId);
    if (bans != null && bans.containsKey(actionOrEmpty)) {
      Map<String, Entry> left = new HashMap<>(bans);
      left.remove(actionOrEmpty);
      store(userId, left);
    }
  }

  /** Drops one cached ban, if it is still the one {@link #cached()} listed: Redis no longer has it. */
  public synchronized boolean dropIfUnchanged(Cached ban) {
    Map<String, Entry> bans = byUser.get(ban.userId());
    if (bans == null || bans.get(ban.actionOrEmpty()) != ban.entry()) {
      return false;
    }
    epoch.incrementAndGet();
    Map<String, Entry> left = new HashMap<>(bans);
    left.remove(ban.actionOrEmpty());
    store(ban.userId(), left);
    return true;
  }

  /** Every ban cached now. */
  public List<Cached> cached() {
    List<Cached> all = new ArrayList<>();
    byUser.forEach((user, bans) -> bans.forEach((action, entry) -> all.add(new Cached(user, action, entry))));
    return all;
  }

  public synchronized void clear() {
    epoch.incrementAndGet();
    byUser.clear();
  }

  /** Drops ended bans; run now and then so that users who never return do not stay in memory. */
  public void sweep(long nowNanos) {
    byUser.removeIf((user, bans) -> bans.values().stream().allMatch(entry -> entry.untilNanos - nowNanos <= 0));
  }

  /** How many users have a cached ban. */
  public int size() {
    return byUser.size();
  }

  /** Its memory, for metrics: estimated bytes held, the budget, and users dropped to stay within it. */
  public LruBytes<String, ?> memory() {
    return byUser;
  }
}
