package io.sluice.limiter;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalBucketsTest {

  private static final long SECOND = 1_000_000_000L;

  private final LocalBuckets buckets = new LocalBuckets(1 << 20);

  @Test
  void aShareOfTheCapacityIsAllowedThenRefusedWithTheTimeToTheNextToken() {
    // capacity 10 over 2 instances: 5 here; refill 1/s over 2: 0.5/s.
    for (int i = 0; i < 5; i++) {
      assertTrue(buckets.take("u", "login", 5, 0.5, 1, 0).allowed());
    }
    LocalBuckets.Take refused = buckets.take("u", "login", 5, 0.5, 1, 0);
    assertFalse(refused.allowed());
    assertEquals(2000, refused.retryAfterMs());
  }

  @Test
  void refillsAtItsShareOfTheRate() {
    for (int i = 0; i < 5; i++) {
      buckets.take("u", "login", 5, 0.5, 1, 0);
    }
    assertFalse(buckets.take("u", "login", 5, 0.5, 1, SECOND).allowed(), "half a token after 1 s");
    assertTrue(buckets.take("u", "login", 5, 0.5, 1, 2 * SECOND).allowed(), "one after 2 s");
  }

  @Test
  void aShareBelowOneTokenStillHoldsOneThatRefillsAtTheShareOfTheRate() {
    // capacity 5 over 10 instances: half a token each; each instance still lets one through, then one per 50 s.
    assertTrue(buckets.take("u", "login", 0.5, 0.02, 1, 0).allowed());
    assertFalse(buckets.take("u", "login", 0.5, 0.02, 1, 25 * SECOND).allowed());
    assertTrue(buckets.take("u", "login", 0.5, 0.02, 1, 50 * SECOND).allowed());
  }

  @Test
  void usersAndBucketsAreKeptApart() {
    assertTrue(buckets.take("u", "a", 1, 1, 1, 0).allowed());
    assertTrue(buckets.take("u", "b", 1, 1, 1, 0).allowed());
    assertTrue(buckets.take("v", "a", 1, 1, 1, 0).allowed());
    assertFalse(buckets.take("u", "a", 1, 1, 1, 0).allowed());
  }

  @Test
  void aFloodOfNewUsersPushesOutIdleBucketsNeverTheOneInUse() {
    LocalBuckets small = new LocalBuckets(1 << 20);
    for (int i = 0; i < 5; i++) {
      assertTrue(small.take("hammering", "login", 5, 0.001, 1, 0).allowed());
    }
    for (int i = 0; i < 200_001; i++) {
      small.take("flood-" + "x".repeat(200) + i, "login", 5, 0.001, 1, 0);
      if (i % 200 == 0) {
        assertFalse(small.take("hammering", "login", 5, 0.001, 1, 0).allowed(), "a used-up bucket stays used up");
      }
    }
    assertFalse(small.take("hammering", "login", 5, 0.001, 1, 0).allowed(), "no fresh burst after the flood");
    assertTrue(small.memory().bytes() <= small.memory().budgetBytes(), "within its budget");
  }
}
