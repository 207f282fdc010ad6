package io.sluice.redis;

import io.sluice.config.RedisAccess;
import io.sluice.limiter.CheckScripts;
import io.sluice.support.TestRedis;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The hot path's own Redis client ({@link RedisPipelines} over {@link PipelinedConnection}) against
 * vertx-redis-client on the same load: one event loop, one connection, a closed loop of checks in
 * flight, each an EVALSHA of lua/token_bucket.lua for one of 10,000 users (no coalescing of checks
 * into one script call, which only the own client does, so the transports alone are compared).
 * vertx-redis-client is driven two ways: {@code send} per check (it pipelines on its connection),
 * and {@code batch} of everything one event-loop turn sends. Prints checks/s, the process's CPU per
 * check and the latency percentiles; docs/benchmarks.md has the figures and the decision.
 *
 * <p>Not a test (no assertions on speed): run by scripts/bench-redis-clients.sh.
 */
public final class RedisClientsBench {

  private static final CheckScripts SCRIPTS = CheckScripts.load();
  private static final int USERS = 10_000;

  private RedisClientsBench() {
  }

  /** One way of sending a check: completes with its reply. */
  private interface Client {
    Future<Object> check(String[] keys, Object[] args);
  }

  public static void main(String[] arguments) throws Exception {
    int seconds = arguments.length > 0 ? Integer.parseInt(arguments[0]) : 10;
    int inFlight = arguments.length > 1 ? Integer.parseInt(arguments[1]) : 64;
    int rounds = arguments.length > 2 ? Integer.parseInt(arguments[2]) : 2;
    try (TestRedis redis = TestRedis.startOwn()) {
      Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
      try {
        for (int round = 1; round <= rounds; round++) {
          for (String variant : List.of("own", "vertx-send", "vertx-batch")) {
            Context loop = vertx.getOrCreateContext();
            Client client = onLoop(loop, () -> open(vertx, variant, redis.uri())).await(10, TimeUnit.SECONDS);
            run(loop, client, 3, inFlight); // warm-up
            String result = run(loop, client, seconds, inFlight);
            System.out.printf("round %d %-12s %d in flight: %s%n", round, variant, inFlight, result);
          }
        }
      } finally {
        vertx.close().await(10, TimeUnit.SECONDS);
      }
    }
  }

  private static Future<Client> open(Vertx vertx, String variant, String uri) {
    if (variant.equals("own")) {
      RedisAccess node = RedisAccess.parse(uri);
      RedisPipelines pipelines = new RedisPipelines(vertx, RedisTopology.standalone(node), new RedisBreakers(vertx, node, SCRIPTS.all(), 5, 1000, 1000),
          new RedisFaults(), SCRIPTS.all(), 1, 1000, 1000, 10_000, new RedisPipelines.Observer() {
            @Override
            public void connectionLost() {
            }

            @Override
            public void wrote(int commands, int checks) {
            }
          });
      return pipelines.open().map(opened -> (keys, args) -> {
        Promise<Object> reply = Promise.promise();
        pipelines.eval(SCRIPTS.check(), keys, args, System.nanoTime() + 1_000_000_000L, Long.MAX_VALUE, new ScriptCallback() {
          @Override
          public void onReply(Object answer) {
            reply.complete(answer);
          }

          @Override
          public void onUnavailable(Unavailable why, long retryAfterMs) {
            reply.fail(why.label());
          }

          @Override
          public void onDeadline() {
            reply.fail("deadline");
          }

          @Override
          public void onOverload() {
            reply.fail("overload");
          }

          @Override
          public void onFault(RedisFault fault, String detail) {
            reply.fail(detail);
          }

          @Override
          public void onLateReply(Object answer) {
          }
        });
        return reply.future();
      });
    }
    Redis redis = Redis.createClient(vertx, new RedisOptions().setConnectionString(uri).setMaxPoolWaiting(100_000));
    return redis.connect().compose(connection -> LuaScript.loadMissing(redis, java.util.List.of(SCRIPTS.check())).map(loaded -> variant.equals("vertx-send")
        ? (keys, args) -> connection.send(evalsha(keys, args)).map(response -> (Object) response)
        : new TurnBatches(connection)));
  }

  /** vertx-redis-client's batch(): every check of one event-loop turn in one batch, as the own client shares a write. */
  private static final class TurnBatches implements Client {
    private final RedisConnection connection;
    private List<Request> requests = new ArrayList<>();
    private List<Promise<Object>> replies = new ArrayList<>();

    TurnBatches(RedisConnection connection) {
      this.connection = connection;
    }

    @Override
    public Future<Object> check(String[] keys, Object[] args) {
      if (requests.isEmpty()) {
        Vertx.currentContext().runOnContext(endOfTurn -> send());
      }
      Promise<Object> reply = Promise.promise();
      requests.add(evalsha(keys, args));
      replies.add(reply);
      return reply.future();
    }

    private void send() {
      List<Request> sent = requests;
      List<Promise<Object>> waiting = replies;
      requests = new ArrayList<>();
      replies = new ArrayList<>();
      connection.batch(sent).onComplete(done -> {
        for (int i = 0; i < waiting.size(); i++) {
          if (done.succeeded()) {
            waiting.get(i).complete(done.result().get(i));
          } else {
            waiting.get(i).fail(done.cause());
          }
        }
      });
    }
  }

  private static Request evalsha(String[] keys, Object[] args) {
    Object[] keysThenArgs = new Object[keys.length + args.length];
    System.arraycopy(keys, 0, keysThenArgs, 0, keys.length);
    System.arraycopy(args, 0, keysThenArgs, keys.length, args.length);
    return SCRIPTS.check().evalsha(keys.length, keysThenArgs);
  }

  /** Keeps {@code inFlight} checks going for {@code seconds}; returns what was measured. */
  private static String run(Context loop, Client client, int seconds, int inFlight) throws Exception {
    long[] latencies = new long[4_000_000];
    int[] done = {0};
    int[] failed = {0};
    long endNanos = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    Promise<Void> finished = Promise.promise();
    int[] outstanding = {0};
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long cpuBefore = os.getProcessCpuTime();
    long startNanos = System.nanoTime();
    loop.runOnContext(start -> {
      Runnable[] next = new Runnable[1];
      next[0] = () -> {
        if (System.nanoTime() >= endNanos) {
          if (--outstanding[0] == 0) {
            finished.complete();
          }
          return;
        }
        String user = "bench-" + ThreadLocalRandom.current().nextInt(USERS);
        String[] keys = RedisKeys.forCheck(user, "bench", false, false, false);
        long sent = System.nanoTime();
        client.check(keys, new Object[] {100L, 10.0, 1L}).onComplete(reply -> {
          if (reply.succeeded()) {
            if (done[0] < latencies.length) {
              latencies[done[0]] = System.nanoTime() - sent;
            }
            done[0]++;
          } else {
            failed[0]++;
          }
          next[0].run();
        });
      };
      outstanding[0] = inFlight;
      for (int i = 0; i < inFlight; i++) {
        next[0].run();
      }
    });
    finished.future().await(seconds + 30L, TimeUnit.SECONDS);
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
    long cpu = os.getProcessCpuTime() - cpuBefore;
    int measured = Math.min(done[0], latencies.length);
    long[] sorted = Arrays.copyOf(latencies, measured);
    Arrays.sort(sorted);
    return String.format("%.0f checks/s, %.1f us CPU a check (this process), p50 %.2f ms, p99 %.2f ms, %d failed",
        done[0] / elapsed, cpu / 1e3 / Math.max(1, done[0]), sorted[measured / 2] / 1e6, sorted[(int) (measured * 0.99)] / 1e6, failed[0]);
  }

  private static <T> Future<T> onLoop(Context loop, java.util.function.Supplier<Future<T>> action) {
    Promise<T> result = Promise.promise();
    loop.runOnContext(run -> action.get().onComplete(result));
    return result.future();
  }
}
