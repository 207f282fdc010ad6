package io.sluice.limiter;

import io.sluice.limits.AbusePolicy;
import io.sluice.limits.ConcurrencyPolicy;
import io.sluice.limits.Rule;
import io.sluice.limits.TierChoice;
import io.sluice.redis.RedisKeys;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * {@code lua/token_bucket.lua}'s wire format, both ways, beside the script's own header (which
 * documents KEYS, ARGV and the reply): the arguments of one bucket's checks, and a reply decoded
 * into a record. Change the two together.
 */
final class TokenBucketScript {

  private TokenBucketScript() {
  }

  /**
   * ARGV for one bucket: {@code cost} is one check's tokens, or the costs of several of the bucket's
   * checks separated by spaces; a rule with a quota adds its own after them.
   */
  static Object[] args(Rule rule, String identity, Object cost, QuotaPeriods quotas) {
    AbusePolicy abuse = rule.abuse();
    Object[] args = abuse == null ? new Object[] {rule.capacity(), rule.refillPerSecond(), cost}
        : new Object[] {rule.capacity(), rule.refillPerSecond(), cost,
        (long) abuse.maxViolations(), abuse.windowMs(), abuse.banMs(), abuse.banMultiplier(), abuse.maxBanMs(),
        abuse.historyMs(), abuse.scope().wireName(), rule.name(), RedisKeys.readable(identity), rule.name()};
    return rule.quota() == null ? args : quotas.after(args, rule.quota());
  }

  /**
   * A check that takes a lease too: its layout ('L' before the segment's own), keys (the user's
   * leases of the rule first) and arguments (the lease's secret, each candidate's maxInFlight and
   * leaseMs, then the segment's own), as lua/token_bucket.lua reads them.
   */
  static String leaseLayout(String segmentLayout) {
    return "L" + segmentLayout;
  }

  static String[] leaseKeys(String identity, Rule rule, String[] segmentKeys) {
    String[] all = new String[segmentKeys.length + 1];
    all[0] = RedisKeys.leases(identity, rule.name());
    System.arraycopy(segmentKeys, 0, all, 1, segmentKeys.length);
    return all;
  }

  /** The lease's arguments, before the segment's: {@code candidates} are the plain rule, or a choice's base and plans in order. */
  static Object[] leaseArgs(String secret, List<Rule> candidates, Object[] segmentArgs) {
    Object[] all = new Object[1 + 2 * candidates.size() + segmentArgs.length];
    all[0] = secret;
    for (int i = 0; i < candidates.size(); i++) {
      ConcurrencyPolicy concurrency = candidates.get(i).concurrency();
      all[1 + 2 * i] = (long) concurrency.maxInFlight();
      all[2 + 2 * i] = concurrency.leaseMs();
    }
    System.arraycopy(segmentArgs, 0, all, 1 + 2 * candidates.size(), segmentArgs.length);
    return all;
  }

  /**
   * A choice among a rule's plans (a segment of a batch): its layout ({@code T}, the number of
   * candidates, each one's key count), keys (the stored tier's, then each candidate's) and arguments
   * (the names of the candidates after the first, one each, then each one's), as lua/token_bucket.lua reads them.
   */
  static String choiceLayout(TierChoice choice, String[][] candidateKeys) {
    int reads = (choice.readsStoredPlan() ? 1 : 0) + (choice.readsOverride() ? 2 : 0);
    StringBuilder layout = new StringBuilder(3 + candidateKeys.length).append('T').append(reads).append(candidateKeys.length);
    for (String[] keys : candidateKeys) {
      layout.append(keys.length);
    }
    return layout.toString();
  }

  static String[] choiceKeys(String identity, TierChoice choice, String[][] candidateKeys) {
    int k = (choice.readsStoredPlan() ? 1 : 0) + (choice.readsOverride() ? 1 : 0);
    int count = k;
    for (String[] keys : candidateKeys) {
      count += keys.length;
    }
    String[] all = new String[count];
    if (choice.readsStoredPlan()) {
      all[0] = RedisKeys.tier(identity);
    }
    if (choice.readsOverride()) {
      all[k - 1] = RedisKeys.override(identity, choice.base().name());
    }
    for (String[] keys : candidateKeys) {
      System.arraycopy(keys, 0, all, k, keys.length);
      k += keys.length;
    }
    return all;
  }

  static Object[] choiceArgs(TierChoice choice, String identity, Object cost, QuotaPeriods quotas) {
    List<Object> args = new ArrayList<>(choice.tiers().size() + (choice.rules().size() + 1) * 13);
    args.addAll(choice.tiers());
    Collections.addAll(args, args(choice.base(), identity, cost, quotas));
    for (Rule rule : choice.rules()) {
      Collections.addAll(args, args(rule, identity, cost, quotas));
    }
    return args.toArray();
  }

  /**
   * One check's reply: { code, remaining, retry_after_ms, reset_after_ms, violations } and, when a
   * ban is involved, { ban_level, ban_scope, ban_reason, created }; a choice's has all nine, the
   * tier stored for the user, and the user's override that decided, if one did.
   *
   * @param retryAfterMs     for a ban, until it ends
   * @param banCreated       this very call made the ban
   * @param storedTier       a choice's: the tier stored for the user, empty for none (or not read); null for a check of one rule
   * @param overrideCapacity a choice's: the capacity of the user's override that decided; 0 when none did
   * @param overrideRefill   and its refill per second
   * @param quotaRefused     a rule with a quota: the quota refused (the bucket may have held the cost)
   * @param quotaRemaining   a rule with a quota: its tokens left in the period; -1 without a quota
   * @param quotaResetAfterMs and ms until the period ends
   * @param concurrencyRefused a check taking a lease: every slot was held (bucket and quota may have held the cost)
   * @param leaseGranted      a check taking a lease: it holds one now
   * @param inFlight          a check taking a lease: the user's leases after it; -1 for a check that takes none
   */
  record Reply(int code, long remaining, long retryAfterMs, long resetAfterMs, int violations, int banLevel, String banScope,
               String banReason, boolean banCreated, String storedTier, long overrideCapacity, double overrideRefill,
               boolean quotaRefused, long quotaRemaining, long quotaResetAfterMs, boolean concurrencyRefused, boolean leaseGranted,
               long inFlight) {

    boolean counted() {
      return quotaRemaining >= 0;
    }

    boolean overridden() {
      return overrideCapacity > 0;
    }


    static final int DENY = 0;
    static final int ALLOW = 1;
    /** A ban that blocks, even under a rule in shadow mode. */
    static final int BAN = 2;
    /** A ban that exists only in shadow: the caller never blocks on it. */
    static final int SHADOW_BAN = 3;
    /** The cost is above the capacity of the plan that decided: only a choice can meet it, its plan unknown before. */
    static final int TOO_LARGE = 4;

    static Reply decode(Object[] reply) {
      int code = ((Long) reply[0]).intValue();
      if (code < DENY || code > TOO_LARGE) {
        throw new IllegalStateException("unknown decision code " + code);
      }
      // An answer without a ban carries the first five fields only.
      boolean withBan = reply.length > 5;
      boolean withQuota = reply.length > 15;
      boolean withLease = reply.length > 18;
      return new Reply(code, (Long) reply[1], (Long) reply[2], (Long) reply[3], ((Long) reply[4]).intValue(),
          withBan ? ((Long) reply[5]).intValue() : 0, withBan ? (String) reply[6] : "", withBan ? (String) reply[7] : "",
          withBan && (Long) reply[8] == 1, reply.length > 9 ? (String) reply[9] : null,
          // As Redis holds them ("1e3" is a whole capacity too); the script took only whole ones.
          reply.length > 12 && (Long) reply[10] == 1 ? (long) Double.parseDouble((String) reply[11]) : 0,
          reply.length > 12 && (Long) reply[10] == 1 ? Double.parseDouble((String) reply[12]) : 0,
          withQuota && "quota".equals(reply[13]), withQuota ? (Long) reply[14] : -1, withQuota ? (Long) reply[15] : 0,
          withLease && "concurrency".equals(reply[13]), withLease && (Long) reply[16] == 1, withLease ? (Long) reply[17] : -1);
    }

    Decision.Outcome outcome() {
      return switch (code) {
        case ALLOW -> Decision.Outcome.ALLOW;
        case BAN, SHADOW_BAN -> Decision.Outcome.BAN;
        default -> Decision.Outcome.DENY;
      };
    }
  }
}
