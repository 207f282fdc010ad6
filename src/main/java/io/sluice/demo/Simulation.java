package io.sluice.demo;

import io.sluice.grpc.FleetClient;
import io.sluice.grpc.v1.CheckResponse;
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

  /**
   * Answers counted by kind: decisions (allowed, denied, banned), degraded answers (given by a
   * failure mode while Redis was unavailable: not decisions, so counted apart) and failures (no
   * instance answered).
   */
  public static final class Tally {
    final LongAdder allowed = new LongAdder();
    final LongAdder denied = new LongAdder();
    final LongAdder banned = new LongAdder();
    final LongAdder degradedAllowed = new LongAdder();
    final LongAdder degradedDenied = new LongAdder();
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

    public long degraded() {
      return degradedAllowed.sum() + degradedDenied.sum();
    }

    public long degradedAllowed() {
      return degradedAllowed.sum();
    }

    public long failed() {
      return failed.sum();
    }

    void count(CheckResponse response) {
      boolean allow = response.getDecision() == Decision.ALLOW;
      if (response.getDegraded()) {
        (allow ? degradedAllowed : degradedDenied).increment();
        return;
      }
      switch (response.getDecision()) {
        case ALLOW -> allowed.increment();
        case DENY -> denied.increment();
        case BAN -> banned.increment();
        default -> failed.increment();
      }
    }

    @Override
    public String toString() {
      return String.format(Locale.ROOT, "allowed %6d  denied %6d  banned %6d%s%s", allowed(), denied(), banned(),
          degraded() > 0 ? String.format(Locale.ROOT, "  degraded %d (allowed %d)", degraded(), degradedAllowed()) : "",
          failed() > 0 ? "  failed " + failed() : "");
    }
  }

  private record UserAction(String user, String action) {
  }

  /** One (user, action): what it was allowed, and the span in which it could have been. */
  private static final class Pair {
    final LongAdder allowed = new LongAdder();
    final LongAdder degradedAllowed = new LongAdder();
    final long firstSentNanos;
    volatile long lastAnsweredNanos;

    Pair(long firstSentNanos) {
      this.firstSentNanos = firstSentNanos;
    }
  }

  /**
   * A (user, action) that got more than its rule permits: by decisions of the fleet (a limiter
   * bug), or only once degraded answers are added (what a failure mode let through while Redis
   * was unavailable).
   */
  public record Violation(String user, String action, long allowed, long degradedAllowed, long permitted) {

    public boolean causedByDegradedAnswers() {
      return allowed <= permitted;
    }
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
        CheckResponse response = done.result().response();
        actionTally.count(response);
        byInstance.get(done.result().instance()).count(response);
        if (response.getDecision() == Decision.ALLOW) {
          (response.getDegraded() ? pair.degradedAllowed : pair.allowed).increment();
        }
      }
      inFlight.decrementAndGet();
    });
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

  /** Every answer, whatever its action. */
  public Tally total() {
    Tally total = new Tally();
    for (Tally tally : byAction.values()) {
      total.allowed.add(tally.allowed());
      total.denied.add(tally.denied());
      total.banned.add(tally.banned());
      total.degradedAllowed.add(tally.degradedAllowed());
      total.degradedDenied.add(tally.degradedDenied.sum());
      total.failed.add(tally.failed());
    }
    return total;
  }

  /**
   * Every (user, action) allowed more than its rule permits over the time it was active, counting
   * degraded allows too (each violation says whether they caused it). Rules in shadow mode and
   * allowlisted users are not limited, so they are not checked.
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
      long allowed = pair.allowed.sum();
      long degradedAllowed = pair.degradedAllowed.sum();
      if (allowed + degradedAllowed > permitted) {
        found.add(new Violation(key.user(), key.action(), allowed, degradedAllowed, permitted));
      }
    });
    return found;
  }
}
