package io.sluice.bench;

import io.sluice.cli.ClientOptions;
import io.sluice.cli.FleetTargets;
import io.sluice.grpc.FleetClient;
import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.AcquireRequest;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.redis.RedisKeys;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code sluice bench}: load on the fleet, as backends would put it. Closed loop ({@code --concurrency}
 * checks always in flight, each answer followed at once by the next) or open loop ({@code --rate}
 * checks per second on a fixed schedule, whatever the answers do, with each latency measured from
 * when the check was due, so that a stall is not hidden by the checks it held back). Answers are
 * told apart: decisions, degraded answers (the failure mode), and errors by status.
 *
 * <p>The load generator is not among the service's classes: the build packs this package into
 * {@code target/sluice-bench.jar}, beside {@code sluice.jar}, which loads it when {@code bench} is named
 * ({@code io.sluice.Main}); the server never does. It is over ~400 lines because both loops and
 * their report share one set of counters, which splitting would pass around.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Measure check throughput and latency against running instances (closed or open loop).")
public final class BenchCommand implements Callable<Integer> {

  /** The open loop hands checks to the client at most this often. */
  private static final long SEND_GRANULARITY_NANOS = 200_000;

  @Mixin
  FleetTargets targets;

  @Mixin
  ClientOptions client;

  @Option(names = "--concurrency", defaultValue = "64", description = "Closed loop: checks in flight at any time (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(names = "--rate", defaultValue = "0", description = "Open loop: checks per second on a fixed schedule; 0 for closed loop (default).")
  double rate;

  @Option(names = "--seconds", defaultValue = "10", description = "Measured time (default: ${DEFAULT-VALUE}).")
  double seconds;

  @Option(names = "--warmup-seconds", defaultValue = "3", description = "Unmeasured time first, for the JIT (default: ${DEFAULT-VALUE}).")
  double warmupSeconds;

  @Option(names = "--checks", defaultValue = "0", description = "Closed loop: stop after this many checks (0: no limit).")
  long maxChecks;

  @Option(names = "--users", defaultValue = "100000", description = "Distinct users (default: ${DEFAULT-VALUE}).")
  int users;

  @Option(names = "--keys", defaultValue = "uniform",
      description = "How users are drawn: uniform, zipf (a few users make most checks) or hot (one user) (default: ${DEFAULT-VALUE}).")
  String keys;

  @Option(names = "--action", defaultValue = "api", description = "The action checked (default: ${DEFAULT-VALUE}).")
  String action;

  @Option(names = "--call", defaultValue = "check",
      description = "check; acquire: RateLimiter/Acquire, then Release of the lease it granted (the pair is one answer); "
          + "check-acquire: a check that acquires, then Release (the pair is one answer); or health: grpc.health.v1.Health/Check "
          + "instead, the floor of any gRPC call on the same server, to compare with (each answer counts as an allow) "
          + "(default: ${DEFAULT-VALUE}).")
  String call;

  @Option(names = "--client", defaultValue = "grpc",
      description = "grpc: Vert.x's gRPC client, as a backend calls Sluice; lean: pre-encoded HTTP/2 frames on one plain "
          + "connection per target, as h2load sends them, so that the load generator takes less of the CPU it shares "
          + "with the instance (default: ${DEFAULT-VALUE}).")
  String clientKind;

  @Option(names = "--timeline", description = "Print one line per second: checks, degraded, errors, p99.")
  boolean timeline;

  @Option(names = "--redis", description = "Redis URI: also report Redis's work per decision (INFO cpu and commandstats).")
  String redisUri;

  @Option(names = "--stored-tier", description = "Store this tier for every user of the run first (needs --redis), and remove it after:"
      + " checks of users with a stored plan.")
  String storedTier;

  private final Histogram latencies = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
  private final AtomicLong answered = new AtomicLong();
  private final AtomicLong[] decisions = {new AtomicLong(), new AtomicLong(), new AtomicLong(), new AtomicLong()};
  private final Map<String, AtomicLong> degraded = new TreeMap<>();
  private final Map<String, AtomicLong> errors = new TreeMap<>();
  /** The first failure of each kind in {@link #errors}: a count alone does not say what went wrong. */
  private final Map<String, String> firstErrors = new TreeMap<>();
  private final AtomicLong sent = new AtomicLong();
  private volatile long measureFromNanos;
  private volatile long measureUntilNanos;
  private Timeline perSecond;
  private KeyChooser chooser;

  @Override
  public Integer call() throws Exception {
    if (concurrency < 1 || !(seconds > 0) || warmupSeconds < 0 || users < 1 || rate < 0 || maxChecks < 0) {
      System.err.println("bench: --concurrency and --users must be >= 1, --seconds > 0, --warmup-seconds, --rate and --checks >= 0");
      return 2;
    }
    if (!List.of("check", "acquire", "check-acquire", "health").contains(call)) {
      System.err.println("bench: --call must be check, acquire, check-acquire or health, was '" + call + "'");
      return 2;
    }
    if (call.contains("acquire") && clientKind.equals("lean")) {
      System.err.println("bench: --call " + call + " needs --client grpc (the lean client sends checks and health calls only)");
      return 2;
    }
    if (!clientKind.equals("grpc") && !clientKind.equals("lean")) {
      System.err.println("bench: --client must be grpc or lean, was '" + clientKind + "'");
      return 2;
    }
    if (storedTier != null && redisUri == null) {
      System.err.println("bench: --stored-tier writes the users' plans to Redis: give --redis too");
      return 2;
    }
    if (clientKind.equals("lean") && client.access().tls()) {
      System.err.println("bench: --client lean speaks plain HTTP/2 only; use --client grpc with TLS");
      return 2;
    }
    try {
      chooser = KeyChooser.of(keys, users);
    } catch (IllegalArgumentException e) {
      System.err.println("bench: " + e.getMessage());
      return 2;
    }
    Vertx vertx = Vertx.vertx();
    // The client is used from its event loop: called from another thread, each call would look for one.
    Context context = vertx.getOrCreateContext();
    Redis redis = redisUri == null ? null : Redis.createClient(vertx, redisUri);
    LoadClient fleet = null;
    try {
      try {
        fleet = LoadClient.of(clientKind, vertx, context, targets.addresses(), client);
      } catch (Exception e) {
        System.err.println("bench: cannot connect to " + targets + ": " + e.getMessage());
        return 1;
      }
      if (storedTier != null) {
        storeTiers(redis, storedTier);
      }
      long start = System.nanoTime();
      measureFromNanos = start + (long) (warmupSeconds * 1e9);
      measureUntilNanos = measureFromNanos + (long) (seconds * 1e9);
      perSecond = timeline ? new Timeline(measureFromNanos) : null;
      // An open loop warms up in a closed one: a cold JVM that falls behind a fixed rate builds a
      // backlog that the measured time would then pay for.
      // The open loop itself runs the last part of the warm-up (at most 2 s), so that its own code is warm too.
      long openLoopFromNanos = measureFromNanos - (long) (Math.min(2, warmupSeconds / 2) * 1e9);
      CountDownLatch done = rate > 0
          ? openLoop(vertx, context, fleet, closedLoop(fleet, openLoopFromNanos), openLoopFromNanos)
          : closedLoop(fleet, measureUntilNanos);
      RedisWork redisBefore = RedisWork.readAt(redis, measureFromNanos);
      if (!done.await((long) (warmupSeconds + seconds) + 60, TimeUnit.SECONDS)) {
        System.err.println("bench: checks did not come back within a minute after the run");
        return 1;
      }
      RedisWork redisAfter = RedisWork.readAt(redis, System.nanoTime());
      return report(fleet.size(), redisBefore, redisAfter);
    } finally {
      if (redis != null) {
        if (storedTier != null) {
          storeTiers(redis, null);
        }
        redis.close();
      }
      if (fleet != null) {
        fleet.close();
      }
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** {@code --concurrency} loops, each sending its next check when the last is answered, until {@code untilNanos}. */
  private CountDownLatch closedLoop(LoadClient fleet, long untilNanos) {
    CountDownLatch loops = new CountDownLatch(concurrency);
    for (int i = 0; i < concurrency; i++) {
      loop(fleet, new SplittableRandom(i), loops, untilNanos);
    }
    return loops;
  }

  private void loop(LoadClient fleet, SplittableRandom random, CountDownLatch done, long untilNanos) {
    long now = System.nanoTime();
    if (now > untilNanos || (maxChecks > 0 && sent.incrementAndGet() > maxChecks)) {
      done.countDown();
      return;
    }
    send(fleet, random).onComplete(answer -> {
      record(now, answer.succeeded() ? answer.result().response() : null, answer.cause());
      loop(fleet, random, done, untilNanos);
    });
  }

  /**
   * Sends on a fixed schedule, each check timed from when it was due. A thread of its own sleeps
   * until a check is due, then hands what is due by then to the client's event loop in one go, at
   * most {@link #SEND_GRANULARITY_NANOS} apart: a millisecond timer would send up to a millisecond
   * late and count that against the service, and a wake-up per check costs two cores more than the
   * checks do.
   */
  private CountDownLatch openLoop(Vertx vertx, Context context, LoadClient fleet, CountDownLatch warmUp, long fromNanos) {
    CountDownLatch done = new CountDownLatch(1);
    AtomicLong inFlight = new AtomicLong();
    SplittableRandom random = new SplittableRandom(1);
    double intervalNanos = 1e9 / rate;
    Thread sender = new Thread(() -> {
      try {
        warmUp.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      long start = Math.max(fromNanos, System.nanoTime());
      long scheduled = 0;
      while (true) {
        long next = start + (long) (scheduled * intervalNanos);
        if (next > measureUntilNanos) {
          break;
        }
        long wait = Math.max(next - System.nanoTime(), SEND_GRANULARITY_NANOS);
        LockSupport.parkNanos(wait);
        long now = System.nanoTime();
        List<long[]> due = new ArrayList<>();
        for (long at = next; at <= now && at <= measureUntilNanos; at = start + (long) (++scheduled * intervalNanos)) {
          due.add(new long[] {at});
        }
        inFlight.addAndGet(due.size());
        context.runOnContext(send -> {
          for (long[] at : due) {
            send(fleet, random).onComplete(answer -> {
              record(at[0], answer.succeeded() ? answer.result().response() : null, answer.cause());
              inFlight.decrementAndGet();
            });
          }
        });
      }
      awaitInFlight(vertx, inFlight, done);
    }, "bench-open-loop");
    sender.setDaemon(true);
    sender.start();
    return done;
  }

  private Future<FleetClient.Answer> send(LoadClient fleet, SplittableRandom random) {
    return switch (call) {
      case "health" -> fleet.health();
      case "acquire" -> fleet.leaseAndRelease(chooser.user(random), action, false);
      case "check-acquire" -> fleet.leaseAndRelease(chooser.user(random), action, true);
      default -> fleet.check(chooser.user(random), action, 1);
    };
  }

  private static void awaitInFlight(Vertx vertx, AtomicLong inFlight, CountDownLatch done) {
    if (inFlight.get() == 0) {
      done.countDown();
    } else {
      vertx.setTimer(5, t -> awaitInFlight(vertx, inFlight, done));
    }
  }

  private void record(long dueNanos, CheckResponse response, Throwable failure) {
    long now = System.nanoTime();
    if (dueNanos < measureFromNanos || dueNanos > measureUntilNanos) {
      return;
    }
    long latency = Math.max(0, now - dueNanos);
    synchronized (latencies) {
      latencies.recordValue(Math.min(latency, latencies.getHighestTrackableValue()));
    }
    answered.incrementAndGet();
    String degradedReason = null;
    String error = null;
    if (response == null) {
      error = failure instanceof SluiceClient.CallFailedException refused ? refused.status().name() : "UNREACHABLE";
      if (count(errors, error) == 1) {
        synchronized (firstErrors) {
          firstErrors.put(error, String.valueOf(failure.getMessage()));
        }
      }
    } else if (response.getDegraded()) {
      degradedReason = response.getDegradedReason().isEmpty() ? "unknown" : response.getDegradedReason();
      count(degraded, degradedReason);
    } else {
      decisions[response.getDecisionValue() & 3].incrementAndGet();
    }
    if (perSecond != null) {
      perSecond.record(dueNanos, latency, degradedReason != null, error != null);
    }
  }

  private static long count(Map<String, AtomicLong> counts, String key) {
    synchronized (counts) {
      return counts.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
    }
  }

  private int report(int instances, RedisWork redisBefore, RedisWork redisAfter) {
    if (perSecond != null) {
      perSecond.print();
    }
    System.out.printf(Locale.ROOT, "bench: %d instance(s), %s, %.0f s measured after %.0f s warm-up, %s, %s%n",
        instances, rate > 0 ? String.format(Locale.ROOT, "open loop at %.0f checks/s", rate) : "closed loop, concurrency " + concurrency,
        seconds, warmupSeconds, "hot".equals(keys) ? "one user" : users + " users (" + keys + ")",
        call.equals("health") ? "grpc.health.v1.Health/Check instead of checks" : "action " + action
            + (call.equals("acquire") ? ", Acquire and Release" : call.equals("check-acquire") ? ", checks that acquire, and Release" : "") + (storedTier == null ? "" : ", every user on the stored tier " + storedTier));
    long decided = decisions[1].get() + decisions[2].get() + decisions[3].get();
    long degradedTotal = degraded.values().stream().mapToLong(AtomicLong::get).sum();
    long errorTotal = errors.values().stream().mapToLong(AtomicLong::get).sum();
    double measured = Math.min(seconds, (System.nanoTime() - measureFromNanos) / 1e9);
    System.out.printf(Locale.ROOT, "checks: %d (%.0f/s)  decided %d: allow %d  deny %d  ban %d%n", answered.get(),
        answered.get() / measured, decided, decisions[1].get(), decisions[2].get(), decisions[3].get());
    System.out.printf(Locale.ROOT, "degraded: %d %s  errors: %d %s%n", degradedTotal, degraded, errorTotal, errors);
    firstErrors.forEach((kind, message) -> System.out.printf(Locale.ROOT, "  first %s: %s%n", kind, message));
    if (answered.get() > 0) {
      System.out.printf(Locale.ROOT, "latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f%s%n",
          ms(latencies.getValueAtPercentile(50)), ms(latencies.getValueAtPercentile(90)), ms(latencies.getValueAtPercentile(99)),
          ms(latencies.getValueAtPercentile(99.9)), ms(latencies.getMaxValue()),
          rate > 0 ? " (from when each check was due)" : "");
    }
    if (redisBefore != null && redisAfter != null && decided > 0) {
      System.out.printf(Locale.ROOT, "redis: %.2f us CPU per decision (the process, I/O included), %.2f us in scripts, "
              + "%.2f commands per decision (those inside scripts included)%n",
          (redisAfter.cpuSeconds() - redisBefore.cpuSeconds()) * 1e6 / decided, (redisAfter.scriptUsec() - redisBefore.scriptUsec()) / decided,
          (double) (redisAfter.calls() - redisBefore.calls()) / decided);
    }
    if (answered.get() == 0) {
      System.err.println("bench: no check was answered in the measured time: are the targets up? (" + targets + ")");
      return 1;
    }
    if (decided == 0) {
      System.err.println("bench: nothing was decided: every answer was degraded or an error");
      return 1;
    }
    return errorTotal == 0 ? 0 : 1;
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  /** What the run sends through ({@code --client}): the fleet's gRPC client, or the lean one. */
  interface LoadClient {
    Future<FleetClient.Answer> check(String userId, String action, int cost);

    /**
     * A lease taken (by Acquire, or by a check that acquires) and, when granted, released on the same
     * instance: the answer is the taking's, as a check's answer.
     */
    default Future<FleetClient.Answer> leaseAndRelease(String userId, String action, boolean byCheck) {
      throw new UnsupportedOperationException("leases need the gRPC client");
    }

    Future<FleetClient.Answer> health();

    int size();

    void close();

    static LoadClient of(String kind, Vertx vertx, Context context, List<SocketAddress> targets, ClientOptions options)
        throws Exception {
      if (kind.equals("grpc")) {
        FleetClient fleet = new FleetClient(vertx, targets, options.access());
        return new LoadClient() {
          @Override
          public Future<FleetClient.Answer> check(String userId, String action, int cost) {
            return fleet.check(userId, action, cost);
          }

          @Override
          public Future<FleetClient.Answer> health() {
            return fleet.health();
          }

          private final AtomicInteger nextInstance = new AtomicInteger();

          @Override
          public Future<FleetClient.Answer> leaseAndRelease(String userId, String action, boolean byCheck) {
            int index = Math.floorMod(nextInstance.getAndIncrement(), fleet.size());
            SluiceClient instance = fleet.instance(index);
            Future<CheckResponse> taken = byCheck
                ? instance.check(CheckRequest.newBuilder().setUserId(userId).setAction(action).setAcquire(true).build())
                : instance.acquire(AcquireRequest.newBuilder().setUserId(userId).setAction(action).build())
                    .map(lease -> CheckResponse.newBuilder().setDecision(lease.getDecision()).setLeaseId(lease.getLeaseId())
                        .setDegraded(lease.getDegraded()).setDegradedReason(lease.getDegradedReason()).build());
            return taken.compose(response -> response.getLeaseId().isEmpty() ? Future.succeededFuture(response)
                : instance.release(response.getLeaseId()).map(released -> response)).map(response -> new FleetClient.Answer(response, index));
          }

          @Override
          public int size() {
            return fleet.size();
          }

          @Override
          public void close() {
            fleet.close();
          }
        };
      }
      List<FramesClient> connections = new ArrayList<>();
      for (int i = 0; i < targets.size(); i++) {
        connections.add(FramesClient.connect(vertx, context, targets.get(i), i).await(10, TimeUnit.SECONDS));
      }
      AtomicInteger next = new AtomicInteger();
      return new LoadClient() {
        @Override
        public Future<FleetClient.Answer> check(String userId, String action, int cost) {
          return nextConnection().check(userId, action, cost);
        }

        @Override
        public Future<FleetClient.Answer> health() {
          return nextConnection().health();
        }

        /** Round robin over the targets, as {@link FleetClient} spreads its calls. */
        private FramesClient nextConnection() {
          return connections.get(Math.floorMod(next.getAndIncrement(), connections.size()));
        }

        @Override
        public int size() {
          return connections.size();
        }

        @Override
        public void close() {
          connections.forEach(FramesClient::close);
        }
      };
    }
  }

  /** Every user of the run gets {@code tier} as its stored plan (null: none), a thousand writes per round trip. */
  private void storeTiers(Redis redis, String tier) {
    List<String> names = "hot".equals(keys) ? List.of("bench-hot") : java.util.stream.IntStream.range(0, users).mapToObj(i -> "bench-" + i)
        .toList();
    try {
      for (int from = 0; from < names.size(); from += 1000) {
        List<Request> writes = new ArrayList<>();
        for (String user : names.subList(from, Math.min(names.size(), from + 1000))) {
          writes.add(tier == null ? Request.cmd(io.vertx.redis.client.Command.DEL).arg(RedisKeys.tier(user))
              : Request.cmd(io.vertx.redis.client.Command.SET).arg(RedisKeys.tier(user)).arg(tier));
        }
        redis.batch(writes).await(30, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      throw new IllegalStateException("bench: cannot " + (tier == null ? "remove" : "store") + " the users' tiers: " + e.getMessage(), e);
    }
  }

  /** Which user each check is for. */
  interface KeyChooser {
    String user(SplittableRandom random);

    static KeyChooser of(String distribution, int users) {
      return switch (distribution) {
        case "uniform" -> random -> "bench-" + random.nextInt(users);
        case "hot" -> random -> "bench-hot";
        case "zipf" -> {
          // Zipf with exponent 1 over the users: the cumulative weights, searched per check.
          double[] cumulative = new double[users];
          double sum = 0;
          for (int i = 0; i < users; i++) {
            sum += 1.0 / (i + 1);
            cumulative[i] = sum;
          }
          double total = sum;
          yield random -> {
            int index = java.util.Arrays.binarySearch(cumulative, random.nextDouble() * total);
            return "bench-" + (index >= 0 ? index : -index - 1);
          };
        }
        default -> throw new IllegalArgumentException("--keys must be uniform, zipf or hot, was " + distribution);
      };
    }
  }

  /**
   * Redis's own accounting of the work it did: the CPU of the process (INFO cpu: commands, scripts and
   * network I/O), the time in scripts (EVALSHA and EVAL in INFO commandstats; the commands a script
   * runs are inside it), and the commands run (those inside scripts included). The peers harness
   * (bench/) reads the same, so the figures compare.
   */
  record RedisWork(double cpuSeconds, double scriptUsec, long calls) {

    /** Reads the counters once {@code atNanos} has come (the end of the warm-up, or now). */
    static RedisWork readAt(Redis redis, long atNanos) throws Exception {
      if (redis == null) {
        return null;
      }
      long waitNanos = atNanos - System.nanoTime();
      if (waitNanos > 0) {
        TimeUnit.NANOSECONDS.sleep(waitNanos);
      }
      String info = redis.send(Request.cmd(io.vertx.redis.client.Command.INFO).arg("all")).await(10, TimeUnit.SECONDS).toString();
      double cpu = 0;
      double scripts = 0;
      long calls = 0;
      for (String line : info.split("\r?\n")) {
        if (line.startsWith("used_cpu_sys:") || line.startsWith("used_cpu_user:")) {
          cpu += Double.parseDouble(line.substring(line.indexOf(':') + 1));
        } else if (line.startsWith("cmdstat_") && !line.startsWith("cmdstat_info:")) {
          calls += Long.parseLong(field(line, "calls="));
          if (line.startsWith("cmdstat_evalsha:") || line.startsWith("cmdstat_eval:")) {
            scripts += Double.parseDouble(field(line, "usec="));
          }
        }
      }
      return new RedisWork(cpu, scripts, calls);
    }

    private static String field(String line, String name) {
      int start = line.indexOf(name) + name.length();
      int end = line.indexOf(',', start);
      return line.substring(start, end < 0 ? line.length() : end);
    }
  }

  /** Per second of the measured time: checks, degraded answers, errors, and the p99. */
  private static final class Timeline {
    private final long fromNanos;
    private final Map<Integer, long[]> counts = new TreeMap<>();
    private final Map<Integer, Histogram> histograms = new TreeMap<>();

    Timeline(long fromNanos) {
      this.fromNanos = fromNanos;
    }

    synchronized void record(long dueNanos, long latencyNanos, boolean degraded, boolean error) {
      int second = (int) ((dueNanos - fromNanos) / 1_000_000_000L);
      long[] c = counts.computeIfAbsent(second, s -> new long[3]);
      c[0]++;
      c[1] += degraded ? 1 : 0;
      c[2] += error ? 1 : 0;
      histograms.computeIfAbsent(second, s -> new Histogram(TimeUnit.SECONDS.toNanos(60), 2))
          .recordValue(Math.min(latencyNanos, TimeUnit.SECONDS.toNanos(60)));
    }

    synchronized void print() {
      System.out.println("second  checks  degraded  errors  p99_ms");
      counts.forEach((second, c) -> System.out.printf(Locale.ROOT, "%6d  %6d  %8d  %6d  %6.1f%n", second, c[0], c[1], c[2],
          histograms.get(second).getValueAtPercentile(99) / 1e6));
    }
  }
}
