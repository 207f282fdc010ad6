package io.sluice.cli;

import io.sluice.grpc.FleetClient;
import io.vertx.core.Vertx;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code sluice bench}: closed-loop load on the fleet. {@code --concurrency} checks are always
 * outstanding, each answered check is followed at once by the next, so the figure is the fleet's
 * throughput at that concurrency, with the latency of each check as the client saw it.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Measure check throughput and latency against running instances (closed loop).")
public final class BenchCommand implements Callable<Integer> {

  @Mixin
  FleetTargets targets;

  @Option(names = "--concurrency", defaultValue = "64", description = "Checks in flight at any time (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(names = "--seconds", defaultValue = "10", description = "Measured time (default: ${DEFAULT-VALUE}).")
  double seconds;

  @Option(names = "--warmup-seconds", defaultValue = "3", description = "Unmeasured time first, for the JIT (default: ${DEFAULT-VALUE}).")
  double warmupSeconds;

  @Option(names = "--users", defaultValue = "100000", description = "Distinct users, picked at random (default: ${DEFAULT-VALUE}).")
  int users;

  @Option(names = "--action", defaultValue = "api", description = "The action checked (default: ${DEFAULT-VALUE}).")
  String action;

  private static final int MAX_SAMPLES = 5_000_000;

  private final long[] latenciesNanos = new long[MAX_SAMPLES];
  private final AtomicLong samples = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong[] decisions = {new AtomicLong(), new AtomicLong(), new AtomicLong(), new AtomicLong()};
  private volatile long measureFromNanos;
  private volatile long measureUntilNanos;

  @Override
  public Integer call() throws Exception {
    if (concurrency < 1 || !(seconds > 0) || warmupSeconds < 0 || users < 1) {
      System.err.println("bench: --concurrency and --users must be >= 1, --seconds > 0, --warmup-seconds >= 0");
      return 2;
    }
    Vertx vertx = Vertx.vertx();
    FleetClient fleet = new FleetClient(vertx, targets.addresses());
    try {
      long start = System.nanoTime();
      measureFromNanos = start + (long) (warmupSeconds * 1e9);
      measureUntilNanos = measureFromNanos + (long) (seconds * 1e9);
      CountDownLatch loops = new CountDownLatch(concurrency);
      for (int i = 0; i < concurrency; i++) {
        loop(fleet, new SplittableRandom(i), loops);
      }
      if (!loops.await((long) (warmupSeconds + seconds) + 60, TimeUnit.SECONDS)) {
        System.err.println("bench: checks did not come back");
        return 1;
      }
      report(fleet.size());
      return failures.get() == 0 ? 0 : 1;
    } finally {
      fleet.close();
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private void loop(FleetClient fleet, SplittableRandom random, CountDownLatch done) {
    long sent = System.nanoTime();
    if (sent > measureUntilNanos) {
      done.countDown();
      return;
    }
    fleet.check("bench-" + random.nextInt(users), action, 1).onComplete(answer -> {
      long now = System.nanoTime();
      if (sent >= measureFromNanos && now <= measureUntilNanos) {
        if (answer.failed()) {
          failures.incrementAndGet();
        } else {
          decisions[answer.result().response().getDecisionValue() & 3].incrementAndGet();
          long index = samples.getAndIncrement();
          if (index < MAX_SAMPLES) {
            latenciesNanos[(int) index] = now - sent;
          }
        }
      }
      loop(fleet, random, done);
    });
  }

  private void report(int instances) {
    int count = (int) Math.min(samples.get(), MAX_SAMPLES);
    long[] sorted = Arrays.copyOf(latenciesNanos, count);
    Arrays.sort(sorted);
    System.out.printf(Locale.ROOT, "bench: %d instances, concurrency %d, %.0f s measured after %.0f s warm-up, %d users, action %s%n",
        instances, concurrency, seconds, warmupSeconds, users, action);
    System.out.printf(Locale.ROOT, "checks: %d (%.0f/s)  allow %d  deny %d  ban %d  failed %d%n", samples.get(),
        samples.get() / seconds, decisions[1].get(), decisions[2].get(), decisions[3].get(), failures.get());
    if (count > 0) {
      System.out.printf(Locale.ROOT, "latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f%n",
          at(sorted, 0.50), at(sorted, 0.90), at(sorted, 0.99), at(sorted, 0.999), sorted[count - 1] / 1e6);
    }
  }

  private static double at(long[] sorted, double quantile) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(quantile * sorted.length) - 1)] / 1e6;
  }
}
