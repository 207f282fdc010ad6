package io.sluice.redis;

import io.sluice.config.RedisAccess;
import io.sluice.limiter.CheckScripts;
import io.sluice.support.Await;
import io.sluice.support.TestRedis;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * When the commands of one event-loop turn leave for Redis: together at the end of the turn, except
 * that an idle Redis gets the first {@link PipelinedConnection#EARLY_WRITE} at once, so that it
 * works while the rest of the turn is read. Counted by the connection's own write callback, against
 * a real Redis; each test sends its commands inside one event-loop task, which is one turn.
 */
class EarlyWritesTest {

  private static final CheckScripts SCRIPTS = CheckScripts.load();
  private static final int COMMANDS = 2 * PipelinedConnection.EARLY_WRITE;

  private static TestRedis redis;
  private static Vertx vertx;
  private static Context loop;
  private static RedisPipelines pipelines;
  private static final List<Integer> writes = new CopyOnWriteArrayList<>();
  private static final AtomicInteger replies = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    redis = TestRedis.startOwn();
    vertx = Vertx.vertx();
    loop = vertx.getOrCreateContext();
    onLoop(() -> {
      RedisAccess node = RedisAccess.parse(redis.uri());
      pipelines = new RedisPipelines(vertx, RedisTopology.standalone(node), new RedisBreakers(vertx, node, SCRIPTS.all(), 5, 1000, 1000),
          new RedisFaults(), SCRIPTS.all(), 1, 1000, 1000, 10_000, new RedisPipelines.Observer() {
            @Override
            public void connectionLost() {
            }

            @Override
            public void wrote(int commands, int checks) {
              writes.add(commands);
            }
          });
      pipelines.open();
    });
    Await.until("the connection to Redis is ready", Duration.ofSeconds(10), () -> pipelines.readyConnections() == 1);
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
    redis.close();
  }

  @Test
  void anIdleRedisGetsTheFirstCommandsOfATurnAtOnceAndTheRestAtItsEnd() throws Exception {
    List<Integer> turn = sendInOneTurn(COMMANDS, () -> {
      for (int i = 0; i < COMMANDS; i++) {
        check("early-" + i);
      }
    });
    assertThat(turn).containsExactly(PipelinedConnection.EARLY_WRITE, COMMANDS - PipelinedConnection.EARLY_WRITE);
  }

  @Test
  void aScriptDecidingSeveralChecksCountsAsThatMany() throws Exception {
    String costs = "1 ".repeat(PipelinedConnection.EARLY_WRITE);
    List<Integer> turn = sendInOneTurn(2, () -> {
      check("grouped", costs, PipelinedConnection.EARLY_WRITE);
      check("after-the-group", 1L, 1);
    });
    assertThat(turn).as("the grouped script leaves at once, alone").containsExactly(1, 1);
  }

  @Test
  void commandsSentInOneWriteLeaveTogetherEvenToAnIdleRedis() throws Exception {
    List<Integer> turn = sendInOneTurn(COMMANDS, () -> pipelines.inOneWrite(() -> {
      for (int i = 0; i < COMMANDS; i++) {
        check("together-" + i);
      }
    }));
    assertThat(turn).containsExactly(COMMANDS);
  }

  @Test
  void aRedisWithCommandsInFlightGetsTheNextTurnInOneWrite() throws Exception {
    int before = writes.size();
    redis.pause();
    try {
      sendInOneTurn(0, () -> check("keeps-redis-busy"));
      Await.until("the first command written", Duration.ofSeconds(10), () -> writes.size() >= before + 1);
      sendInOneTurn(0, () -> {
        for (int i = 0; i < COMMANDS; i++) {
          check("busy-" + i);
        }
      });
      Await.until("the second turn written", Duration.ofSeconds(10), () -> writes.size() >= before + 2);
    } finally {
      redis.resume();
    }
    Await.until("every reply", Duration.ofSeconds(10), () -> replies.get() >= COMMANDS + 1);
    assertThat(writesSince(before)).containsExactly(1, COMMANDS);
  }

  /** Runs {@code sends} in one event-loop task and returns the writes made until {@code expectedReplies} replies came. */
  private static List<Integer> sendInOneTurn(int expectedReplies, Runnable sends) throws Exception {
    int before = writes.size();
    replies.set(0);
    onLoop(sends);
    Await.until(expectedReplies + " replies", Duration.ofSeconds(10), () -> replies.get() >= expectedReplies);
    return writesSince(before);
  }

  /**
   * The writes after the first {@code before}, from one snapshot: a sub-list view of the live list
   * fails when the event loop adds a write while it is copied.
   */
  private static List<Integer> writesSince(int before) {
    List<Integer> all = List.copyOf(writes);
    return all.subList(before, all.size());
  }

  private static void check(String user) {
    check(user, 1L, 1);
  }

  /** @param cost one cost, or the costs of {@code checks} checks separated by spaces */
  private static void check(String user, Object cost, int checks) {
    String[] keys = {"rate_limit:{" + user + "}:api", "ban:{" + user + "}", "ban:{" + user + "}:api"};
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    pipelines.eval(SCRIPTS.check(), keys, new Object[] {1000L, 1.0, cost}, checks, deadline, deadline, new ScriptCallback() {
      @Override
      public void onReply(Object reply) {
        replies.incrementAndGet();
      }

      @Override
      public void onUnavailable(Unavailable why, long retryAfterMs) {
        throw new AssertionError("redis unavailable: " + why);
      }

      @Override
      public void onDeadline() {
        throw new AssertionError("deadline passed");
      }

      @Override
      public void onOverload() {
        throw new AssertionError("shed unwritten");
      }

      @Override
      public void onFault(RedisFault fault, String detail) {
        throw new AssertionError("redis fault " + fault + ": " + detail);
      }

      @Override
      public void onLateReply(Object reply) {
      }
    });
  }

  private static void onLoop(Runnable task) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    loop.runOnContext(ignored -> {
      try {
        task.run();
        done.complete(null);
      } catch (Throwable failure) {
        done.completeExceptionally(failure);
      }
    });
    done.get(10, TimeUnit.SECONDS);
  }
}
