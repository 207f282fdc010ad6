package io.sluice.peers;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.ExpirationAfterWriteStrategy;
import io.github.bucket4j.distributed.proxy.ProxyManager;
import io.github.bucket4j.redis.lettuce.Bucket4jLettuce;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.HdrHistogram.Histogram;
import org.redisson.Redisson;
import org.redisson.api.RRateLimiter;
import org.redisson.api.RateType;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntPredicate;

/**
 * One peer library under closed-loop load: {@code --threads} threads, each asking for one token of a
 * user's bucket (uniform over {@code --users}, or one hot key) as fast as the library answers, for
 * {@code --seconds} after {@code --warmup-seconds}. Prints one line: decisions per second, allowed and
 * denied, latency percentiles. Redis's own work is read around the run by scripts/bench-peers.sh.
 *
 * <pre>java -jar bench/target/sluice-peers.jar --library bucket4j|redisson|lua --redis redis://127.0.0.1:6379
 *     [--threads 16] [--seconds 10] [--warmup-seconds 3] [--users 10000] [--keys uniform|hot] [--capacity 100] [--refill 10]</pre>
 */
public final class PeersBench {

  private PeersBench() {
  }

  /** A limiter as the benchmark sees it: take one token of user {@code i}'s bucket, true when allowed. */
  private interface Limiter extends IntPredicate, AutoCloseable {
    @Override
    void close();
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> options = options(args);
    String library = options.getOrDefault("library", "lua");
    String redis = options.getOrDefault("redis", "redis://127.0.0.1:6379");
    int threads = Integer.parseInt(options.getOrDefault("threads", "16"));
    double seconds = Double.parseDouble(options.getOrDefault("seconds", "10"));
    double warmupSeconds = Double.parseDouble(options.getOrDefault("warmup-seconds", "3"));
    boolean hot = "hot".equals(options.getOrDefault("keys", "uniform"));
    int users = hot ? 1 : Integer.parseInt(options.getOrDefault("users", "10000"));
    long capacity = Long.parseLong(options.getOrDefault("capacity", "100"));
    long refillPerSecond = Long.parseLong(options.getOrDefault("refill", "10"));
    String prefix = "peers:" + library + ":" + Long.toString(System.nanoTime(), 36) + ":";

    try (Limiter limiter = switch (library) {
      case "bucket4j" -> bucket4j(redis, prefix, users, capacity, refillPerSecond);
      case "redisson" -> redisson(redis, prefix, users, capacity, refillPerSecond);
      case "lua" -> plainLua(redis, prefix, capacity, refillPerSecond);
      default -> throw new IllegalArgumentException("--library must be bucket4j, redisson or lua, was " + library);
    }) {
      run(limiter, threads, users, warmupSeconds, false);
      RedisWork before = RedisWork.read(redis);
      Result result = run(limiter, threads, users, seconds, true);
      RedisWork after = RedisWork.read(redis);
      Histogram latency = result.latency;
      System.out.printf(Locale.ROOT, "%s: %d decisions in %.1f s: %.0f/s  allowed %d  denied %d  errors %d  "
              + "latency ms p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f%n",
          library, result.decisions(), seconds, result.decisions() / seconds, result.allowed, result.denied, result.errors,
          ms(latency.getValueAtPercentile(50)), ms(latency.getValueAtPercentile(99)), ms(latency.getValueAtPercentile(99.9)),
          ms(latency.getMaxValue()));
      if (result.decisions() > 0) {
        System.out.printf(Locale.ROOT, "redis: %.2f us CPU per decision (the process, I/O included), %.2f us in scripts, "
                + "%.2f commands per decision (those inside scripts included)%n",
            (after.cpuSeconds - before.cpuSeconds) * 1e6 / result.decisions(), (after.scriptUsec - before.scriptUsec) / result.decisions(),
            (double) (after.calls - before.calls) / result.decisions());
      }
      if (result.decisions() == 0) {
        System.exit(1);
      }
    }
    System.exit(0);
  }

  private static final class Result {
    final Histogram latency = new Histogram(60_000_000_000L, 3);
    long allowed;
    long denied;
    long errors;

    long decisions() {
      return allowed + denied;
    }
  }

  private static Result run(Limiter limiter, int threads, int users, double seconds, boolean measured) throws InterruptedException {
    AtomicBoolean stop = new AtomicBoolean();
    List<Result> results = new ArrayList<>();
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Result mine = new Result();
      results.add(mine);
      Thread worker = new Thread(() -> {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (!stop.get()) {
          int user = users == 1 ? 0 : random.nextInt(users);
          long start = System.nanoTime();
          try {
            if (limiter.test(user)) {
              mine.allowed++;
            } else {
              mine.denied++;
            }
            mine.latency.recordValue(System.nanoTime() - start);
          } catch (RuntimeException e) {
            mine.errors++;
          }
        }
      }, "bench-" + t);
      workers.add(worker);
      worker.start();
    }
    Thread.sleep((long) (seconds * 1000));
    stop.set(true);
    for (Thread worker : workers) {
      worker.join();
    }
    Result all = new Result();
    for (Result one : results) {
      all.latency.add(one.latency);
      all.allowed += one.allowed;
      all.denied += one.denied;
      all.errors += one.errors;
    }
    return measured ? all : null;
  }

  /** Bucket4j's Lettuce proxy manager: read the bucket, compute, compare-and-swap it back (two round trips, retried on conflict). */
  private static Limiter bucket4j(String redis, String prefix, int users, long capacity, long refillPerSecond) {
    RedisClient client = RedisClient.create(redis);
    ProxyManager<byte[]> buckets = Bucket4jLettuce.casBasedBuilder(client)
        .expirationAfterWrite(ExpirationAfterWriteStrategy.basedOnTimeForRefillingBucketUpToMax(Duration.ofSeconds(10)))
        .build();
    BucketConfiguration configuration = BucketConfiguration.builder()
        .addLimit(Bandwidth.builder().capacity(capacity).refillGreedy(refillPerSecond, Duration.ofSeconds(1)).build())
        .build();
    io.github.bucket4j.Bucket[] perUser = new io.github.bucket4j.Bucket[users];
    for (int i = 0; i < users; i++) {
      perUser[i] = buckets.builder().build((prefix + i).getBytes(StandardCharsets.UTF_8), () -> configuration);
    }
    return new Limiter() {
      @Override
      public boolean test(int user) {
        return perUser[user].tryConsume(1);
      }

      @Override
      public void close() {
        client.shutdown();
      }
    };
  }

  /** Redisson's RRateLimiter: `capacity` permits per the time the bucket takes to refill. */
  private static Limiter redisson(String redis, String prefix, int users, long capacity, long refillPerSecond) {
    Config config = new Config();
    config.useSingleServer().setAddress(redis).setConnectionPoolSize(64).setConnectionMinimumIdleSize(16);
    RedissonClient client = Redisson.create(config);
    RRateLimiter[] perUser = new RRateLimiter[users];
    Duration interval = Duration.ofMillis(Math.max(1, capacity * 1000 / refillPerSecond));
    for (int i = 0; i < users; i++) {
      perUser[i] = client.getRateLimiter(prefix + i);
      perUser[i].trySetRate(RateType.OVERALL, capacity, interval);
    }
    return new Limiter() {
      @Override
      public boolean test(int user) {
        return perUser[user].tryAcquire();
      }

      @Override
      public void close() {
        client.shutdown();
      }
    };
  }

  /** The plain script by EVALSHA over one Lettuce connection, which pipelines the threads' calls. */
  private static Limiter plainLua(String redis, String prefix, long capacity, long refillPerSecond) throws IOException {
    RedisClient client = RedisClient.create(redis);
    StatefulRedisConnection<String, String> connection = client.connect();
    RedisCommands<String, String> commands = connection.sync();
    String sha;
    try (InputStream in = PeersBench.class.getResourceAsStream("/plain_token_bucket.lua")) {
      sha = commands.scriptLoad(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    String[] args = {Long.toString(capacity), Long.toString(refillPerSecond), "1"};
    return new Limiter() {
      @Override
      public boolean test(int user) {
        Long allowed = commands.evalsha(sha, ScriptOutputType.INTEGER, new String[] {prefix + user}, args);
        return allowed == 1;
      }

      @Override
      public void close() {
        connection.close();
        client.shutdown();
      }
    };
  }

  /** As Sluice's bench reads it (BenchCommand.RedisWork): INFO cpu, and script time and calls from INFO commandstats. */
  private record RedisWork(double cpuSeconds, double scriptUsec, long calls) {

    static RedisWork read(String redis) {
      RedisClient client = RedisClient.create(redis);
      try (StatefulRedisConnection<String, String> connection = client.connect()) {
        double cpu = 0;
        double scripts = 0;
        long calls = 0;
        for (String line : connection.sync().info("all").split("\\r?\\n")) {
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
      } finally {
        client.shutdown();
      }
    }

    private static String field(String line, String name) {
      int start = line.indexOf(name) + name.length();
      int end = line.indexOf(',', start);
      return line.substring(start, end < 0 ? line.length() : end);
    }
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --option value, got " + args[i]);
      }
      options.put(args[i].substring(2), args[i + 1]);
    }
    return options;
  }
}
