package io.sluice.demo;

import io.sluice.grpc.FleetClient;
import io.sluice.grpc.v1.Decision;
import io.sluice.limits.Limits;
import io.sluice.limits.Rule;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Many simulated users on several actions through a fleet: well-behaved users at a gentle pace and
 * abusers hammering, spread over the instances by round robin. Counts every answer by action and
 * by instance, and at the end checks that no user was allowed more than its rule permits
 * fleet-wide: at most {@code capacity + floor(refillPerSecond x elapsed)} for each (user, action).
 */
public final class Simulation {

  /** What to run. Rates are requests per second per user. */
  public record Plan(String runId, int users, double userRate, int abusers, double abuserRate, List<String> actions,
                     long durationMs) {
  }

  /** Answers of one kind: allowed, denied, banned, failed (no instance answered). */
  public static final class Tally {
    final LongAdder allowed = new LongAdder();
    final LongAdder denied = new LongAdder();
    final LongAdder banned = new LongAdder();
    final LongAdder failed = new LongAdder();

    public long allowed() {
      return allowed.sum();
    }

    public long denied() {
      return denied.sum();
    }

    public long banned() {
      return banned.sum();
    }

    public long failed() {
      return failed.sum();
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "allowed %6d  denied %6d  banned %6d%s", allowed(), denied(), banned(),
          failed() > 0 ? "  failed " + failed() : "");
    }
  }

  private record UserAction(String user, String action) {
  }

  /** One (user, action): what it was allowed, and the span in which it could have been. */
  private static final class Pair {
    final LongAdder allowed = new LongAdder();
    final long firstSentNanos;
    volatile long lastAnsweredNanos;

    Pair(long firstSentNanos) {
      this.firstSentNanos = firstSentNanos;
    }
  }

  /** A (user, action) that got more than its rule permits. */
  public record Violation(String user, String action, long allowed, long permitted) {
  }

  private final Vertx vertx;
  private final FleetClient fleet;
  private final Limits limits;
  private final Plan plan;
  private final Map<String, Tally> byAction = new ConcurrentHashMap<>();
  private final List<Tally> byInstance = new ArrayList<>();
  private final Map<UserAction, Pair> pairs = new ConcurrentHashMap<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final List<Long> timers = new ArrayList<>();
  private volatile long startedNanos;

  public Simulation(Vertx vertx, FleetClient fleet, Limits limits, Plan plan) {
    this.vertx = vertx;
    this.fleet = fleet;
    this.limits = limits;
    this.plan = plan;
    for (int i = 0; i < fleet.size(); i++) {
      byInstance.add(new Tally());
    }
    plan.actions().forEach(action -> byAction.put(action, new Tally()));
  }

  /** Runs the plan; completes once every request sent has been answered. */
  public Future<Void> run() {
    startedNanos = System.nanoTime();
    SplittableRandom random = new SplittableRandom(plan.runId().hashCode());
    for (int i = 0; i < plan.users(); i++) {
      schedule(plan.runId() + "-user-" + i, plan.userRate(), random.split());
    }
    for (int i = 0; i < plan.abusers(); i++) {
      schedule(plan.runId() + "-abuser-" + i, plan.abuserRate(), random.split());
    }
    Promise<Void> done = Promise.promise();
    vertx.setTimer(Math.max(1, plan.durationMs()), timer -> {
      timers.forEach(vertx::cancelTimer);
      awaitAnswers(done);
    });
    return done.future();
  }

  private void schedule(String user, double rate, SplittableRandom random) {
    long periodMs = Math.max(1, Math.round(1000 / rate));
    // Spread the first requests over one period, so the fleet does not see every user in the same millisecond.
    long firstMs = 1 + random.nextLong(periodMs);
    timers.add(vertx.setPeriodic(firstMs, periodMs, timer -> {
      String action = plan.actions().get(random.nextInt(plan.actions().size()));
      send(user, action);
    }));
  }

  private void send(String user, String action) {
    Pair pair = pairs.computeIfAbsent(new UserAction(user, action), key -> new Pair(System.nanoTime()));
    inFlight.incrementAndGet();
    fleet.check(user, action, 1).onComplete(done -> {
      pair.lastAnsweredNanos = System.nanoTime();
      Tally actionTally = byAction.get(action);
      if (done.failed()) {
        actionTally.failed.increment();
      } else {
        Decision decision = done.result().response().getDecision();
        Tally instanceTally = byInstance.get(done.result().instance());
        count(actionTally, decision);
        count(instanceTally, decision);
        if (decision == Decision.ALLOW) {
          pair.allowed.increment();
        }
      }
      inFlight.decrementAndGet();
    });
  }

  private static void count(Tally tally, Decision decision) {
    switch (decision) {
      case ALLOW -> tally.allowed.increment();
      case DENY -> tally.denied.increment();
      case BAN -> tally.banned.increment();
      default -> tally.failed.increment();
    }
  }

  private void awaitAnswers(Promise<Void> done) {
    if (inFlight.get() == 0) {
      done.complete();
    } else {
      vertx.setTimer(10, timer -> awaitAnswers(done));
    }
  }

  public Map<String, Tally> byAction() {
    return new TreeMap<>(byAction);
  }

  public List<Tally> byInstance() {
    return List.copyOf(byInstance);
  }

  public double elapsedSeconds() {
    return (System.nanoTime() - startedNanos) / 1e9;
  }

  public int pairsSeen() {
    return pairs.size();
  }

  /**
   * Every (user, action) allowed more than its rule permits over the time it was active. Rules in
   * shadow mode and allowlisted users are not limited, so they are not checked.
   */
  public List<Violation> violations() {
    List<Violation> found = new ArrayList<>();
    pairs.forEach((key, pair) -> {
      Rule rule = limits.ruleFor(key.action());
      if (rule.shadow() || limits.shadow() || limits.allowlist().contains(key.user())) {
        return;
      }
      double elapsedSeconds = Math.max(0, pair.lastAnsweredNanos - pair.firstSentNanos) / 1e9;
      long permitted = (long) Math.floor(rule.capacity() + rule.refillPerSecond() * elapsedSeconds + 1e-9);
      if (pair.allowed.sum() > permitted) {
        found.add(new Violation(key.user(), key.action(), pair.allowed.sum(), permitted));
      }
    });
    return found;
  }
}
