package io.sluice.envoy;

import io.sluice.limiter.CheckScripts;
import io.sluice.limiter.Decision;
import io.sluice.limiter.ScriptedLimit;
import io.sluice.limits.Rule;
import io.sluice.redis.LuaScript;
import io.sluice.redis.RedisKeys;

/**
 * envoyproxy/ratelimit's counting, for Envoy rules run with {@code envoyAlgorithm: fixed_window}:
 * hits counted in fixed windows of the descriptor's unit on Redis's clock (lua/fixed_window.lua,
 * whose header this wire format follows: change the two together); the window refuses once its
 * count passes the rule's capacity. No bans: a fixed window keeps no violations.
 *
 * @param windowSeconds the window's length, the descriptor's unit
 */
public record EnvoyFixedWindow(long windowSeconds) implements ScriptedLimit {

  @Override
  public LuaScript script(CheckScripts scripts) {
    return scripts.fixedWindow();
  }

  @Override
  public String key(String identity, Rule rule) {
    return RedisKeys.fixedWindow(identity, rule.name());
  }

  /** ARGV: the limit (for operators reading the call), the window's length, and the hits to add (0 reads). */
  @Override
  public Object[] args(Rule rule, long hits) {
    return new Object[] {rule.capacity(), windowSeconds, hits};
  }

  /**
   * The reply is { count, seconds_until_the_window_ends, ms_until_the_window_ends }: the seconds are
   * what envoyproxy/ratelimit reports as duration_until_reset (1..unit), the milliseconds how long a
   * refusal is certain to hold.
   */
  @Override
  public Counted read(Object[] reply, Rule rule) {
    long count = (Long) reply[0];
    long resetMs = (Long) reply[1] * 1000;
    long untilResetMs = (Long) reply[2];
    boolean over = count > rule.capacity();
    Decision decision = new Decision(over ? Decision.Outcome.DENY : Decision.Outcome.ALLOW, rule.name(), rule.capacity(),
        rule.refillPerSecond(), Math.max(0, rule.capacity() - count), over ? resetMs : 0, resetMs, null, 0, 0, 0, "", "", null);
    return new Counted(decision, over ? untilResetMs : 0);
  }
}
