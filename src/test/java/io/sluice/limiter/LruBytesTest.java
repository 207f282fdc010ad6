package io.sluice.limiter;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LruBytesTest {

  private static final long BUDGET = 16 * 1024 * 16;

  @Test
  void staysWithinItsBudgetOfBytesHoweverManyEntriesArrive() {
    LruBytes<String, String> cache = new LruBytes<>(BUDGET);
    for (int i = 0; i < 100_000; i++) {
      String id = "x".repeat(240) + i;
      cache.put(id, id, LruBytes.ENTRY_OVERHEAD_BYTES + LruBytes.stringBytes(id));
    }
    assertThat(cache.bytes()).isLessThanOrEqualTo(BUDGET);
    assertThat(cache.size()).as("as many as fit, not none").isGreaterThan(200);
    assertThat(cache.evictions()).isEqualTo(100_000 - cache.size());
  }

  @Test
  void evictsTheLeastRecentlyUsedAndKeepsWhatIsInUse() {
    LruBytes<String, Integer> cache = new LruBytes<>(BUDGET);
    cache.put("busy", 1, 100);
    for (int i = 0; i < 100_000; i++) {
      cache.put("idle-" + i, i, 100);
      cache.get("busy");
    }
    assertEquals(1, cache.get("busy"), "used all along: never the one to go");
    assertNull(cache.get("idle-0"), "the least recently used went");
    assertEquals(99_999, cache.get("idle-99999"), "the newest stays");
  }

  @Test
  void replacingAnEntryCountsItsNewSizeOnly() {
    LruBytes<String, String> cache = new LruBytes<>(BUDGET);
    cache.put("a", "small", 100);
    cache.put("a", "larger", 300);
    assertEquals(300, cache.bytes());
    cache.remove("a");
    assertEquals(0, cache.bytes());
  }

  @Test
  void putIfAbsentKeepsWhatIsThere() {
    LruBytes<String, String> cache = new LruBytes<>(BUDGET);
    assertEquals("first", cache.putIfAbsent("k", "first", 100));
    assertEquals("first", cache.putIfAbsent("k", "second", 100));
    assertEquals(100, cache.bytes());
  }

  @Test
  void aBudgetTooSmallToSpreadIsRefusedNamingIt() {
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> new LruBytes<>(1000));
    assertThat(refused.getMessage()).contains("a cache budget must be at least").contains("1000 bytes");
  }
}
