package io.sluice.limiter;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.support.InstanceProcess;
import io.sluice.support.TestRedis;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Tens of thousands of users with ids near the size limit, each leaving something in an instance's
 * caches (a ban, a certain refusal, a local bucket while Redis is away), against an instance started
 * as users start it (scripts/sluice: a 160 MB heap). The caches stay within their budgets, the heap
 * never fills, no check is degraded while Redis answers, and no user gets more than its limit: not
 * the banned, not the refused, not a user who used up its local share while the flood went by.
 */
class CardinalityFloodIT {

  private static final String LIMITS = """
      {"rules": {
        "default": {"capacity": 4, "refillPerSecond": 0.001},
        "login": {"capacity": 1, "refillPerSecond": 0.001,
                  "abuse": {"maxViolations": 1, "windowSeconds": 600, "banSeconds": 600}},
        "api": {"capacity": 1, "refillPerSecond": 0.001}}}
      """;
  private static final int USERS = 30_000;
  private static final long HEAP_BYTES = 160L << 20;
  private static final String LONG_ID = "u".repeat(240);

  @Test
  void aFloodOfLongIdsFillsNoHeapAndAdmitsNoOneBeyondItsLimit() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (TestRedis redis = TestRedis.startOwn();
         InstanceProcess instance = InstanceProcess.start(redis.uri(), LIMITS, Map.of("SLUICE_REDIS_TIMEOUT_MS", "250"))
             .awaitReady(Duration.ofSeconds(60))) {
      SluiceClient client = new SluiceClient(vertx, SocketAddress.inetSocketAddress(instance.port(), "127.0.0.1"));
      long peakHeap = 0;

      // Each user: one login allowed, the next denied and banned; one api call allowed, the next refused (certain).
      Outcomes bans = flood(vertx, client, USERS * 2, i -> request(i / 2, "login"));
      peakHeap = Math.max(peakHeap, heap(instance));
      Outcomes refusals = flood(vertx, client, USERS * 2, i -> request(i / 2, "api"));
      peakHeap = Math.max(peakHeap, heap(instance));
      String seen = "bans: %s; refusals: %s".formatted(bans, refusals);
      assertEquals(0, bans.degraded.get() + refusals.degraded.get(), "redis answers, so nothing is degraded: " + seen);
      assertEquals(0, bans.errors.get() + refusals.errors.get(), seen);
      assertEquals(USERS, bans.allowed.get(), "one login each: " + seen);
      assertEquals(USERS, refusals.allowed.get(), "one api call each: " + seen);
      assertThat(instance.metric("sluice_cache_evictions_total", "cache=\"bans\"")).as("the ban cache reached its budget: " + seen)
          .isPositive();

      // Everyone met their limit already: asked again, nobody is let through, cached or not.
      Outcomes again = flood(vertx, client, USERS, i -> request(i, i % 2 == 0 ? "login" : "api"));
      assertEquals(0, again.allowed.get(), "no second chance from an evicted cache entry: " + again);

      // Redis away: the local failure mode's buckets, for a hammering user and a flood of new ones.
      CheckRequest hammering = CheckRequest.newBuilder().setUserId("hammering").setAction("anything").build();
      redis.pause();
      try {
        int hammeringAllowed = 0;
        for (int round = 0; round < 10; round++) {
          for (int i = 0; i < 5; i++) {
            CheckResponse answer = client.check(hammering).await(10, TimeUnit.SECONDS);
            hammeringAllowed += answer.getDecision() == Decision.ALLOW ? 1 : 0;
          }
          int from = USERS + round * 3000;
          flood(vertx, client, 3000, i -> request(from + i, "anything"));
          peakHeap = Math.max(peakHeap, heap(instance));
        }
        assertThat(hammeringAllowed).as("the hammering user got its local share once, not again after the flood").isLessThanOrEqualTo(4);
      } finally {
        redis.resume();
      }
      String memory = instance.metrics().lines().filter(line -> line.startsWith("sluice_cache_")).toList().toString();
      System.out.printf("cardinality flood: peak heap %d MB, RSS %d MB, %s%n", peakHeap >> 20, instance.residentBytes() >> 20, memory);
      assertThat(peakHeap).as("heap in use stays below the heap: " + memory).isLessThan(HEAP_BYTES * 9 / 10);
      assertThat(instance.log()).doesNotContain("OutOfMemoryError");
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static CheckRequest request(int user, String action) {
    return CheckRequest.newBuilder().setUserId(LONG_ID + user).setAction(action).build();
  }

  private static long heap(InstanceProcess instance) {
    return (long) instance.metric("jvm_memory_used_bytes", "area=\"heap\"");
  }

  /** What a flood got back. */
  private record Outcomes(AtomicInteger allowed, AtomicInteger degraded, AtomicInteger errors, Map<String, Integer> errorKinds) {
    Outcomes() {
      this(new AtomicInteger(), new AtomicInteger(), new AtomicInteger(), new ConcurrentHashMap<>());
    }

    @Override
    public String toString() {
      return "allowed %d, degraded %d, errors %d %s".formatted(allowed.get(), degraded.get(), errors.get(), errorKinds);
    }
  }

  /** {@code checks} checks, 64 in flight at a time. */
  private static Outcomes flood(Vertx vertx, SluiceClient client, int checks, IntFunction<CheckRequest> requestOf) throws Exception {
    Outcomes outcomes = new Outcomes();
    AtomicInteger next = new AtomicInteger();
    Promise<Void> done = Promise.promise();
    AtomicInteger open = new AtomicInteger(64);
    vertx.runOnContext(v -> {
      for (int lane = 0; lane < 64; lane++) {
        lane(client, checks, requestOf, next, outcomes, open, done);
      }
    });
    done.future().await(120, TimeUnit.SECONDS);
    return outcomes;
  }

  private static void lane(SluiceClient client, int checks, IntFunction<CheckRequest> requestOf, AtomicInteger next, Outcomes outcomes,
                           AtomicInteger open, Promise<Void> done) {
    int i = next.getAndIncrement();
    if (i >= checks) {
      if (open.decrementAndGet() == 0) {
        done.complete();
      }
      return;
    }
    Future<CheckResponse> answer = client.check(requestOf.apply(i), 10_000);
    answer.onComplete(reply -> {
      if (reply.succeeded()) {
        outcomes.allowed.addAndGet(reply.result().getDecision() == Decision.ALLOW ? 1 : 0);
        outcomes.degraded.addAndGet(reply.result().getDegraded() ? 1 : 0);
      } else {
        outcomes.errors.incrementAndGet();
        outcomes.errorKinds.merge(reply.cause().getMessage(), 1, Integer::sum);
      }
      lane(client, checks, requestOf, next, outcomes, open, done);
    });
  }
}
