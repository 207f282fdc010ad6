package io.sluice.limiter;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rounding of lua/token_bucket.lua, which answers from memory must share (CertainRefusalTest compares them with Redis's). */
class TokenBucketMathTest {

  @Test
  void roundsAsTheScriptDoes() {
    assertEquals(3, TokenBucketMath.whole(2.9999999999), "within EPSILON of a whole token is that token");
    assertEquals(2, TokenBucketMath.whole(2.99), "otherwise the whole tokens only");
    assertEquals(0, TokenBucketMath.whole(-0.5), "a balance below zero holds none");
    assertTrue(TokenBucketMath.holds(0.9999999999, 1));
    assertFalse(TokenBucketMath.holds(0.99, 1));
  }

  @Test
  void waitsAreWholeMillisecondsRoundedUpAndNoneWhenNothingIsMissing() {
    assertEquals(2000, TokenBucketMath.msUntil(1, 0.5));
    assertEquals(334, TokenBucketMath.msUntil(1, 3), "a third of a second, rounded up");
    assertEquals(0, TokenBucketMath.msUntil(1e-12, 1), "a full bucket resets now");
    assertEquals(0, TokenBucketMath.msUntil(-1, 1));
  }

  @Test
  void refillStopsAtTheCapacityAndTimeNeverRunsBackwards() {
    assertEquals(5, TokenBucketMath.refilled(4, 5, 10, 1));
    assertEquals(4.5, TokenBucketMath.refilled(4, 5, 1, 0.5));
    assertEquals(4, TokenBucketMath.refilled(4, 5, 1, -3), "a clock read out of order adds nothing");
  }
}
