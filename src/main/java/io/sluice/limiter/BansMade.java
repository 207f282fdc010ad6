package io.sluice.limiter;

import io.sluice.limits.LimitsParser;
import io.sluice.telemetry.Metrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A ban just made, by a rule's abuse policy or by an operator: counted and logged once, the same way. */
final class BansMade {

  /** Its own logger, so that operators can route ban lines apart from the rest. */
  private static final Logger log = LoggerFactory.getLogger("sluice.bans");

  private BansMade() {
  }

  /**
   * @param rule   the rule whose policy banned, or {@link BanAdmin#MANUAL_RULE}
   * @param level  the ban's place in its escalation; 0 for a manual ban
   */
  static void record(Metrics metrics, String rule, String scope, String userId, String actionOrEmpty, int level,
                     long lengthMs, String reason) {
    metrics.banCreated(rule, scope);
    log.info("banned user={} action={} rule={} scope={} level={} for {} ms: {}", LimitsParser.printable(userId),
        LimitsParser.printable(actionOrEmpty), rule, scope, level, lengthMs, reason);
  }
}
