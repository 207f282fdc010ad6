package io.sluice.limiter;

import io.sluice.limits.AbusePolicy;
import io.sluice.limits.Rule;
import io.sluice.limits.TierChoice;
import io.sluice.redis.RedisFault;
import io.sluice.redis.RedisFaults;
import io.sluice.redis.RedisKeys;
import io.sluice.redis.RedisPipelines;
import io.sluice.redis.ScriptCallback;
import io.sluice.redis.Unavailable;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The checks' side of Redis, below the policy of {@link Limiter}, and the only place where a
 * decision speaks to Redis: each check that must ask Redis
 * joins a call of lua/token_bucket.lua of this event-loop turn ({@link TokenBucketScript} is the
 * wire format), which leaves at the end of the turn or as soon as it holds enough for an idle Redis
 * to start on; each check gets its own reply, or its own failure, through its callback. A batch's
 * give-back and a {@link ScriptedLimit}'s count (an Envoy fixed window) are single calls. One per Limiter, on its event loop.
 */
final class CheckStore {

  /** A check as the store sees it: whose bucket, how many tokens, and where its answer goes. */
  interface Waiting extends ScriptCallback {
    /** The user's identity as keys hold it (RedisKeys). */
    String identity();

    Rule rule();

    long tokens();

    /** The rule is in shadow mode with an abuse policy: its bans live apart, so that they never block. */
    boolean shadowRule();

    /** The whole instance or limits set is in shadow mode: every rule's bans live apart. */
    boolean shadowEverything();

    /** The plans the user's stored tier chooses among in the script call (the rules throttled alike); null for the rule alone. */
    TierChoice choice();

    /** A check that takes a concurrency lease too: the new lease's secret; null for a check that takes none. */
    default String leaseSecret() {
      return null;
    }
  }

  private final RedisPipelines redis;
  private final CheckScripts scripts;
  private final Metrics metrics;
  private final RedisFaults faults;
  private final long redisTimeoutNanos;
  private final QuotaPeriods quotas;
  /**
   * One Redis holds every key: the checks of different users in a turn may share a script call (a
   * Cluster refuses a call whose keys are in different slots, even on the same node).
   */
  private final boolean mixUsers;
  /** This turn's script calls still open to more checks: one on a single Redis; one per user on a Cluster. */
  private final Map<String, SharedCall> callsOfTurn = new HashMap<>();
  /**
   * Each user's latest segment in an open call: a check of the same bucket joins it; any other
   * check of the user starts a new one after it. A user's checks are so decided in the order they
   * came (a ban one makes meets the next); other users' keys are disjoint, so their order is free.
   */
  private final Map<String, Segment> latestSegmentOfUser = new HashMap<>();
  private final Runnable sendCallsOfTurn = this::sendCallsOfTurn;
  private boolean turnEndScheduled;

  CheckStore(RedisPipelines redis, CheckScripts scripts, Metrics metrics, RedisFaults faults, long redisTimeoutNanos, boolean mixUsers,
             QuotaClock quotaClock) {
    this.quotas = new QuotaPeriods(quotaClock);
    this.redis = redis;
    this.scripts = scripts;
    this.metrics = metrics;
    this.faults = faults;
    this.redisTimeoutNanos = redisTimeoutNanos;
    this.mixUsers = mixUsers;
  }

  /** Runs {@code checks}: the calls they make leave in one write per connection, one round trip for all. */
  void inOneWrite(Runnable checks) {
    redis.inOneWrite(checks);
  }

  /**
   * Returns tokens an allowed check took (lua/give_back.lua), never past the bucket's capacity.
   * Completes however Redis answers: when it cannot be asked in time the tokens stay taken, and the
   * bucket refills as usual.
   */
  Future<Void> giveBack(String identity, Rule rule, long capacity, long tokens, long callerDeadlineNanos) {
    Promise<Void> done = Promise.promise();
    String[] keys = {RedisKeys.bucket(identity, rule.name())};
    Object[] args = {capacity, tokens};
    if (rule.quota() != null) {
      keys = new String[] {keys[0], RedisKeys.quota(identity, rule.name())};
      args = quotas.afterForGiveBack(args, rule.quota());
    }
    redis.eval(scripts.giveBack(), keys, args,
        System.nanoTime() + redisTimeoutNanos, callerDeadlineNanos, new ScriptCallback() {
          @Override
          public void onReply(Object reply) {
            done.tryComplete();
          }

          @Override
          public void onUnavailable(Unavailable why, long retryAfterMs) {
            metrics.redisError(why.label());
            done.tryComplete();
          }

          @Override
          public void onDeadline() {
            done.tryComplete();
          }

          @Override
          public void onOverload() {
            done.tryComplete();
          }

          @Override
          public void onFault(RedisFault fault, String incidentId) {
            done.tryComplete();
          }

          @Override
          public void onLateReply(Object reply) {
          }
        });
    return done.future();
  }

  /** One call of lua/concurrency.lua: a lease acquired or released ({@link Leases} has its arguments). */
  void lease(String[] keys, Object[] args, long now, long callerDeadlineNanos, ScriptCallback pending) {
    redis.eval(scripts.concurrency(), keys, args, now + redisTimeoutNanos, callerDeadlineNanos, pending);
  }

  /** One call of lua/adjust.lua: a settled cost ({@link Adjustments} has its arguments, but a quota's, added here). */
  void adjust(String[] keys, Object[] args, Rule rule, long now, long callerDeadlineNanos, ScriptCallback pending) {
    redis.eval(scripts.adjust(), keys, rule.quota() == null ? args : quotas.after(args, rule.quota()), now + redisTimeoutNanos, callerDeadlineNanos, pending);
  }

  /**
   * The same, settled on what operators stored for the user, as the check was decided: after the four
   * arguments of every settlement, {@code choice}'s candidates, each with its numbers and quota (lua/adjust.lua).
   */
  void adjust(String[] keys, Object[] head, TierChoice choice, long now, long callerDeadlineNanos, ScriptCallback pending) {
    int reads = (choice.readsStoredPlan() ? 1 : 0) + (choice.readsOverride() ? 2 : 0);
    List<Object> args = new ArrayList<>(head.length + 3 + 10 * (choice.rules().size() + 1));
    Collections.addAll(args, head);
    Collections.addAll(args, "choice", (long) reads, (long) (choice.rules().size() + 1));
    for (int i = 0; i <= choice.rules().size(); i++) {
      Rule candidate = i == 0 ? choice.base() : choice.rules().get(i - 1);
      Object[] numbers = {i == 0 ? "" : choice.tiers().get(i - 1), candidate.capacity(), candidate.refillPerSecond()};
      Collections.addAll(args, candidate.quota() == null ? withoutQuota(numbers) : quotas.after(numbers, candidate.quota()));
    }
    redis.eval(scripts.adjust(), keys, args.toArray(), now + redisTimeoutNanos, callerDeadlineNanos, pending);
  }

  /** A candidate without a quota: its numbers, and a limit of 0 where a quota's seven arguments go. */
  private static Object[] withoutQuota(Object[] numbers) {
    Object[] all = java.util.Arrays.copyOf(numbers, numbers.length + 7);
    java.util.Arrays.fill(all, numbers.length, all.length, 0L);
    return all;
  }

  /** One call of a {@link ScriptedLimit}'s script, adding {@code hits} to the subject's count. */
  void count(ScriptedLimit limit, String identity, Rule rule, long hits, long now, long callerDeadlineNanos, ScriptCallback pending) {
    redis.eval(limit.script(scripts), new String[] {limit.key(identity, rule)}, limit.args(rule, hits), now + redisTimeoutNanos,
        callerDeadlineNanos, pending);
  }

  /**
   * Adds the check to a script call of this event-loop turn, which leaves at the end of the turn, or
   * as soon as it holds enough checks for an idle Redis to start on. Checks of one bucket are one
   * segment of the call, decided together (a hot key's 16 checks read together cost Redis 2 calls,
   * not 16); on a single Redis, other users' checks share the call as further segments (a call's
   * dispatch and reply cost Redis more than a check's arithmetic). A caller who waits less than Redis
   * is given goes alone: its own deadline must answer it.
   */
  void take(Waiting pending, long now, long callerDeadlineNanos) {
    Rule rule = pending.rule();
    TierChoice choice = pending.choice();
    String[] keys;
    String choiceLayout = null;
    if (choice == null) {
      keys = keysOf(pending.identity(), rule, pending.shadowRule());
    } else {
      String[][] candidateKeys = new String[choice.rules().size() + 1][];
      candidateKeys[0] = keysOf(pending.identity(), choice.base(), pending.shadowRule());
      for (int i = 0; i < choice.rules().size(); i++) {
        Rule candidate = choice.rules().get(i);
        candidateKeys[i + 1] = keysOf(pending.identity(), candidate, pending.shadowEverything() || candidate.shadow());
      }
      keys = TokenBucketScript.choiceKeys(pending.identity(), choice, candidateKeys);
      choiceLayout = TokenBucketScript.choiceLayout(choice, candidateKeys);
    }
    boolean leasing = pending.leaseSecret() != null;
    if (leasing) {
      choiceLayout = TokenBucketScript.leaseLayout(choiceLayout != null ? choiceLayout : String.valueOf(keys.length));
      keys = TokenBucketScript.leaseKeys(pending.identity(), rule, keys);
    }
    long sendByNanos = now + redisTimeoutNanos;
    if (callerDeadlineNanos < sendByNanos) {
      if (choiceLayout == null) {
        redis.eval(scripts.check(), keys, TokenBucketScript.args(rule, pending.identity(), pending.tokens(), quotas), sendByNanos,
            callerDeadlineNanos,
            pending);
        return;
      }
      SharedCall alone = new SharedCall(pending.identity());
      Segment segment = new Segment(keys, choiceLayout, pending, alone);
      alone.segments.add(segment);
      segment.members.add(pending);
      alone.add(sendByNanos, callerDeadlineNanos);
      alone.send();
      return;
    }
    if (!turnEndScheduled) {
      turnEndScheduled = true;
      redis.atEndOfTurn(sendCallsOfTurn);
    }
    Segment segment = latestSegmentOfUser.get(pending.identity());
    // A check that takes a lease is a segment of its own: each lease has its own secret.
    if (segment == null || leasing || segment.head.leaseSecret() != null || !segment.keys[0].equals(keys[0]) || segment.head.shadowRule() != pending.shadowRule()
        || segment.head.shadowEverything() != pending.shadowEverything() || !segment.head.rule().equals(rule)
        || !Objects.equals(segment.head.choice(), choice)) {
      // On a Cluster every key of one user is in one slot (the hash tag), and only there.
      String callKey = mixUsers ? "" : pending.identity();
      SharedCall open = callsOfTurn.get(callKey);
      if (open == null) {
        open = new SharedCall(callKey);
        callsOfTurn.put(callKey, open);
      }
      segment = new Segment(keys, choiceLayout, pending, open);
      open.segments.add(segment);
      latestSegmentOfUser.put(pending.identity(), segment);
    }
    SharedCall call = segment.call;
    segment.members.add(pending);
    call.add(sendByNanos, callerDeadlineNanos);
    if (call.checks >= RedisPipelines.EARLY_WRITE) {
      // Enough for an idle Redis to start on now (the connection writes it at once); the checks
      // after it join a new call. Waiting for the end of the turn instead made Redis idle while the
      // rest was read (docs/benchmarks.md: 45k against 56k checks/s).
      callsOfTurn.remove(call.key);
      for (Segment left : call.segments) {
        latestSegmentOfUser.remove(left.head.identity(), left);
      }
      call.send();
    }
  }

  private static String[] keysOf(String identity, Rule rule, boolean shadowRule) {
    AbusePolicy abuse = rule.abuse();
    boolean quota = rule.quota() != null;
    return abuse == null
        ? RedisKeys.forCheck(identity, rule.name(), false, false, false, quota)
        : RedisKeys.forCheck(identity, rule.name(), true, abuse.scope() == AbusePolicy.Scope.USER, shadowRule, quota);
  }

  /** At the end of the turn: each open call goes to Redis; the next turn starts afresh. */
  private void sendCallsOfTurn() {
    // Taken out and the maps cleared before any is sent: a send may answer at once (an open breaker),
    // and whatever that answer starts belongs to the next turn, not to a map being walked.
    turnEndScheduled = false;
    if (callsOfTurn.isEmpty()) {
      return;
    }
    List<SharedCall> calls = new ArrayList<>(callsOfTurn.values());
    callsOfTurn.clear();
    latestSegmentOfUser.clear();
    for (SharedCall call : calls) {
      call.send();
    }
  }

  /**
   * One bucket's checks in a shared call: lua/token_bucket.lua decides them one after the other. A
   * choice among the rule's plans, and a check that takes a lease, go only in a batch's layout, which names them.
   */
  private final class Segment {
    final String[] keys;
    /** A choice's or a lease's layout in a batch (TokenBucketScript#choiceLayout, #leaseLayout); null for one rule's checks. */
    final String choiceLayout;
    /** The first check: its rule, plans, user and shadow are every member's. */
    final Waiting head;
    final SharedCall call;
    final List<Waiting> members = new ArrayList<>(2);

    Segment(String[] keys, String choiceLayout, Waiting head, SharedCall call) {
      this.keys = keys;
      this.choiceLayout = choiceLayout;
      this.head = head;
      this.call = call;
    }

    /** ARGV for this segment: one cost, or the members' costs separated by spaces. */
    Object[] args() {
      Object cost;
      if (members.size() == 1) {
        cost = head.tokens();
      } else {
        StringBuilder costs = new StringBuilder(members.size() * 2);
        for (Waiting member : members) {
          costs.append(member.tokens()).append(' ');
        }
        cost = costs.toString();
      }
      TierChoice choice = head.choice();
      Object[] own = choice == null ? TokenBucketScript.args(head.rule(), head.identity(), cost, quotas)
          : TokenBucketScript.choiceArgs(choice, head.identity(), cost, quotas);
      if (head.leaseSecret() == null) {
        return own;
      }
      List<Rule> candidates = new ArrayList<>(choice == null ? 1 : 1 + choice.rules().size());
      candidates.add(choice == null ? head.rule() : choice.base());
      if (choice != null) {
        candidates.addAll(choice.rules());
      }
      return TokenBucketScript.leaseArgs(head.leaseSecret(), candidates, own);
    }
  }

  /**
   * The checks of one event-loop turn that share a script call, in segments, one per bucket: each
   * check is decided as if it had come alone in the same microsecond, after the ones before it in
   * the call (a ban made by one is met by the next), and gets its own reply.
   */
  private final class SharedCall implements ScriptCallback {
    final String key;
    final List<Segment> segments = new ArrayList<>(4);
    int checks;
    private long sendByNanos = Long.MAX_VALUE;
    private long callerDeadlineNanos = Long.MAX_VALUE;
    /** The checks in the order of the replies: segment after segment. */
    private Waiting[] members;

    SharedCall(String key) {
      this.key = key;
    }

    void add(long sendBy, long callerDeadline) {
      checks++;
      sendByNanos = Math.min(sendByNanos, sendBy);
      callerDeadlineNanos = Math.min(callerDeadlineNanos, callerDeadline);
    }

    void send() {
      Segment first = segments.get(0);
      if (checks == 1 && first.choiceLayout == null) {
        redis.eval(scripts.check(), first.keys, first.args(), sendByNanos, callerDeadlineNanos, first.head);
        return;
      }
      members = new Waiting[checks];
      int m = 0;
      for (Segment segment : segments) {
        for (Waiting member : segment.members) {
          members[m++] = member;
        }
      }
      if (checks > 1) {
        metrics.groupedChecks(checks);
      }
      if (segments.size() == 1 && first.choiceLayout == null) {
        redis.eval(scripts.check(), first.keys, first.args(), checks, sendByNanos, callerDeadlineNanos, this);
        return;
      }
      // lua/token_bucket.lua's batch: ARGV 'batch', each segment's key count, then the segments' arguments.
      StringBuilder layout = new StringBuilder(segments.size());
      int keyCount = 0;
      for (Segment segment : segments) {
        if (segment.choiceLayout == null) {
          layout.append(segment.keys.length);
        } else {
          layout.append(segment.choiceLayout);
        }
        keyCount += segment.keys.length;
      }
      String[] keys = new String[keyCount];
      List<Object> args = new ArrayList<>(2 + segments.size() * 3);
      args.add("batch");
      args.add(layout.toString());
      int k = 0;
      for (Segment segment : segments) {
        System.arraycopy(segment.keys, 0, keys, k, segment.keys.length);
        k += segment.keys.length;
        Collections.addAll(args, segment.args());
      }
      redis.eval(scripts.check(), keys, args.toArray(), checks, sendByNanos, callerDeadlineNanos, this);
    }

    /**
     * The reply of each member, or null (recorded as a fault) when the reply is not one per member:
     * then each member still waiting fails; a late reply's members were answered already.
     */
    private Object[] each(Object reply, boolean membersWaiting) {
      if (reply instanceof Object[] replies && replies.length == members.length) {
        return replies;
      }
      String incident = faults.record(RedisFault.REPLY, "a shared call's reply is not one reply per check: " + reply);
      for (int i = 0; membersWaiting && i < members.length; i++) {
        members[i].onFault(RedisFault.REPLY, incident);
      }
      return null;
    }

    @Override
    public void onReply(Object reply) {
      Object[] replies = each(reply, true);
      for (int i = 0; replies != null && i < replies.length; i++) {
        members[i].onReply(replies[i]);
      }
    }

    @Override
    public void onUnavailable(Unavailable why, long retryAfterMs) {
      for (Waiting member : members) {
        member.onUnavailable(why, retryAfterMs);
      }
    }

    @Override
    public void onDeadline() {
      for (Waiting member : members) {
        member.onDeadline();
      }
    }

    @Override
    public void onOverload() {
      for (Waiting member : members) {
        member.onOverload();
      }
    }

    @Override
    public void onFault(RedisFault fault, String incidentId) {
      for (Waiting member : members) {
        member.onFault(fault, incidentId);
      }
    }

    @Override
    public void onLateReply(Object reply) {
      Object[] replies = each(reply, false);
      for (int i = 0; replies != null && i < replies.length; i++) {
        members[i].onLateReply(replies[i]);
      }
    }
  }
}
