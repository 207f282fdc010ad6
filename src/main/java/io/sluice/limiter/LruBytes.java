package io.sluice.limiter;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiPredicate;

/**
 * A map bounded by the bytes its entries hold, not by their count: a flood of long user ids fills
 * it as fast as short ones would fill a count-bounded map ten times over. Past the budget, the
 * least recently used entries go, a few at a time, never everything. Shared by every event loop:
 * the keys are spread over stripes, each an access-ordered map under its own lock, so that event
 * loops seldom wait for each other and each stripe evicts its own least recently used.
 *
 * <p>Weights are estimates the caller gives ({@link #stringBytes} for its strings): what the heap
 * holds for an entry, erring high.
 */
public final class LruBytes<K, V> {

  /** What a map entry, its node and its bookkeeping cost besides key and value. */
  public static final long ENTRY_OVERHEAD_BYTES = 96;

  private static final int STRIPES = 16;

  private record Weighed<V>(V value, long bytes) {
  }

  private final Stripe<K, V>[] stripes;
  private final long budgetBytes;
  private final AtomicLong evictions = new AtomicLong();

  @SuppressWarnings("unchecked")
  public LruBytes(long budgetBytes) {
    if (budgetBytes < STRIPES * 1024L) {
      throw new IllegalArgumentException("a cache budget must be at least " + STRIPES + " KiB, was " + budgetBytes + " bytes");
    }
    this.budgetBytes = budgetBytes;
    this.stripes = new Stripe[STRIPES];
    for (int i = 0; i < STRIPES; i++) {
      stripes[i] = new Stripe<>(budgetBytes / STRIPES);
    }
  }

  /** What the heap holds for a string of this length: the object, its array, and two bytes a character at most. */
  public static long stringBytes(String value) {
    return 40 + 2L * value.length();
  }

  private Stripe<K, V> stripe(K key) {
    int hash = key.hashCode();
    return stripes[(hash ^ (hash >>> 16)) & (STRIPES - 1)];
  }

  /** The value, marked as just used; null when absent. */
  public V get(K key) {
    Stripe<K, V> stripe = stripe(key);
    synchronized (stripe) {
      Weighed<V> entry = stripe.map.get(key);
      return entry == null ? null : entry.value;
    }
  }

  /** The value, marked as just used; {@code fallback} when absent. */
  public V getOrDefault(K key, V fallback) {
    V value = get(key);
    return value == null ? fallback : value;
  }

  /** The value there, marked as just used; or {@code value}, put as {@link #put} does, when there was none. */
  public V putIfAbsent(K key, V value, long bytes) {
    Stripe<K, V> stripe = stripe(key);
    synchronized (stripe) {
      Weighed<V> there = stripe.map.get(key);
      if (there != null) {
        return there.value;
      }
      put(key, value, bytes);
      return value;
    }
  }

  /** Puts the value (its estimated size {@code bytes}, key included), then evicts the least recently used past the budget. */
  public void put(K key, V value, long bytes) {
    Stripe<K, V> stripe = stripe(key);
    synchronized (stripe) {
      Weighed<V> old = stripe.map.put(key, new Weighed<>(value, bytes));
      stripe.bytes += bytes - (old == null ? 0 : old.bytes);
      Iterator<Weighed<V>> eldest = stripe.map.values().iterator();
      while (stripe.bytes > stripe.budgetBytes && eldest.hasNext()) {
        Weighed<V> evicted = eldest.next();
        if (evicted.value == value) {
          break;
        }
        eldest.remove();
        stripe.bytes -= evicted.bytes;
        evictions.incrementAndGet();
      }
    }
  }

  public V remove(K key) {
    Stripe<K, V> stripe = stripe(key);
    synchronized (stripe) {
      Weighed<V> old = stripe.map.remove(key);
      if (old == null) {
        return null;
      }
      stripe.bytes -= old.bytes;
      return old.value;
    }
  }

  /** Removes the entry only while it still holds {@code value}. */
  public boolean remove(K key, V value) {
    Stripe<K, V> stripe = stripe(key);
    synchronized (stripe) {
      Weighed<V> current = stripe.map.get(key);
      if (current == null || current.value != value) {
        return false;
      }
      stripe.map.remove(key);
      stripe.bytes -= current.bytes;
      return true;
    }
  }

  /** Removes every entry the predicate accepts; one stripe locked at a time. */
  public void removeIf(BiPredicate<K, V> gone) {
    for (Stripe<K, V> stripe : stripes) {
      synchronized (stripe) {
        for (Iterator<Map.Entry<K, Weighed<V>>> it = stripe.map.entrySet().iterator(); it.hasNext(); ) {
          Map.Entry<K, Weighed<V>> entry = it.next();
          if (gone.test(entry.getKey(), entry.getValue().value)) {
            it.remove();
            stripe.bytes -= entry.getValue().bytes;
          }
        }
      }
    }
  }

  /** Each entry, stripe by stripe (a stripe's lock is held while its entries are visited). */
  public void forEach(java.util.function.BiConsumer<K, V> visit) {
    for (Stripe<K, V> stripe : stripes) {
      synchronized (stripe) {
        stripe.map.forEach((key, weighed) -> visit.accept(key, weighed.value));
      }
    }
  }

  public void clear() {
    for (Stripe<K, V> stripe : stripes) {
      synchronized (stripe) {
        stripe.map.clear();
        stripe.bytes = 0;
      }
    }
  }

  public int size() {
    int size = 0;
    for (Stripe<K, V> stripe : stripes) {
      synchronized (stripe) {
        size += stripe.map.size();
      }
    }
    return size;
  }

  /** The estimated bytes held now; at most the budget (give or take one entry per stripe). */
  public long bytes() {
    long bytes = 0;
    for (Stripe<K, V> stripe : stripes) {
      synchronized (stripe) {
        bytes += stripe.bytes;
      }
    }
    return bytes;
  }

  public long budgetBytes() {
    return budgetBytes;
  }

  /** Entries dropped to stay within the budget, since start. */
  public long evictions() {
    return evictions.get();
  }

  private static final class Stripe<K, V> {
    final LinkedHashMap<K, Weighed<V>> map = new LinkedHashMap<>(16, 0.75f, true);
    final long budgetBytes;
    long bytes;

    Stripe(long budgetBytes) {
      this.budgetBytes = budgetBytes;
    }
  }
}
