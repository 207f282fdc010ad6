package io.sluice.limiter;

import io.sluice.limits.Rule;
import io.sluice.redis.LuaScript;

/**
 * A limit algorithm of its own beside the token bucket, decided by one script call under the policy
 * of {@link Limiter} (shadow mode, certain refusals, failure modes): the seam where a new algorithm
 * goes. The Envoy fixed window ({@code envoy/EnvoyFixedWindow}) is one. Its script must be among the
 * {@link CheckScripts}, which every check connection loads before it serves.
 */
public interface ScriptedLimit {

  /** Its script, of those the check connections hold. */
  LuaScript script(CheckScripts scripts);

  /** The one key it counts in for this subject (as keys hold it, {@code RedisKeys}) and rule. */
  String key(String identity, Rule rule);

  /** ARGV of a call adding {@code hits} (0 looks without adding). */
  Object[] args(Rule rule, long hits);

  /** What the script answered, as an answer. */
  Counted read(Object[] reply, Rule rule);

  /**
   * @param decision        the answer (ALLOW or DENY), before shadow mode
   * @param refusalHoldsMs  how long a refusal is certain to hold (answered without Redis until then); 0 for none
   */
  record Counted(Decision decision, long refusalHoldsMs) {
  }
}
