package io.sluice.limits;

import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.sluice.redis.RedisKeys;
import io.sluice.support.Await;
import io.sluice.support.LogCapture;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Limits changed while instances run: by editing the file, and by publishing on Redis. */
@ExtendWith(RedisExtension.class)
class LiveLimitsTest {

  private static final String LIMITS = """
      { "rules": {
          "default": { "capacity": 99, "refillPerSecond": 0.001 },
          "login":   { "capacity": 5,  "refillPerSecond": 0.001 },
          "search":  { "capacity": 10, "refillPerSecond": 0.001 } } }
      """;
  private static final JsonObject FAST_SCAN = new JsonObject().put("limitsScanMs", 50);
  private static final Duration SOON = Duration.ofSeconds(5);

  private TestRedis redis;
  private final Vertx vertx = Vertx.vertx();
  private Redis publisher;

  @BeforeEach
  void clearPublishedLimits(TestRedis testRedis) {
    redis = testRedis;
    redis.command(Command.DEL, RedisKeys.LIMITS_KEY);
    publisher = Redis.createClient(vertx, redis.options());
  }

  @AfterEach
  void dropPublishedLimits() throws Exception {
    // Other test classes start instances that read the published limits: leave none behind.
    redis.command(Command.DEL, RedisKeys.LIMITS_KEY);
    publisher.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void anEditOfTheLimitsFileIsEnforcedWithoutRestart() throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, FAST_SCAN)) {
      assertEquals(5, sluice.check(newUser(), "login").getLimit());
      Files.writeString(sluice.limitsFile(), LIMITS.replace("\"capacity\": 5,", "\"capacity\": 50,"));
      Await.until("the edited limit", SOON, () -> sluice.check(newUser(), "login").getLimit() == 50);
      assertThat(sluice.sluice().limits().get().source()).isEqualTo("file " + sluice.limitsFile());
      assertEquals(0, sluice.sluice().limits().status().rejected());
    }
  }

  @Test
  void aStableInvalidFileIsRejectedOnceAndTheRunningLimitsStay() throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, FAST_SCAN)) {
      long version = sluice.sluice().limits().get().version();
      Files.writeString(sluice.limitsFile(), LIMITS.replace("\"capacity\": 5,", "\"capacity\": -5,"));
      Await.until("the rejection", SOON, () -> sluice.sluice().limits().status().rejected() == 1);

      LimitsStatus status = sluice.sluice().limits().status();
      assertThat(status.lastRejection().reason()).contains("rules.login.capacity must be a whole number from 1 to 1000000000, was -5");
      assertThat(status.lastRejectionSuperseded()).isFalse();
      assertEquals(version, status.current().version());
      assertEquals(5, sluice.check(newUser(), "login").getLimit());
      // Nothing to await: many scans pass and the same bad file is not reported again.
      Thread.sleep(500);
      assertEquals(1, sluice.sluice().limits().status().rejected());
    }
  }

  @Test
  void aRefusedFilePutBackToTheContentInForceClearsTheRefusalAndSaysSo() throws Exception {
    try (LogCapture logs = LogCapture.of(LimitsVerticle.class);
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, FAST_SCAN)) {
      long version = sluice.sluice().limits().get().version();
      Files.writeString(sluice.limitsFile(), LIMITS.replace("\"capacity\": 5,", "\"capacity\": -5,"));
      Await.until("the rejection", SOON, () -> sluice.sluice().limits().status().rejected() == 1);
      assertThat(sluice.sluice().limits().status().lastRejectionSuperseded()).isFalse();

      // Back to what is in force: nothing new to apply, yet the refusal no longer describes the file.
      Files.writeString(sluice.limitsFile(), LIMITS);
      Await.until("the refusal to be cleared", SOON, () -> sluice.sluice().limits().status().lastRejectionSuperseded());
      LimitsStatus status = sluice.sluice().limits().status();
      assertEquals(version, status.current().version());
      assertThat(status.toJson().getJsonObject("lastRejection").getBoolean("superseded")).isTrue();
      Await.until("the log to say so", SOON, () -> logs.said("are valid again"));

      // The same mistake made again is news again: refused, and not superseded.
      Files.writeString(sluice.limitsFile(), LIMITS.replace("\"capacity\": 5,", "\"capacity\": -5,"));
      Await.until("the second rejection", SOON, () -> sluice.sluice().limits().status().rejected() == 2);
      assertThat(sluice.sluice().limits().status().lastRejectionSuperseded()).isFalse();
    }
  }

  @Test
  void aLimitsFileAboveTheSizeCapIsRefusedUnreadAndTheRunningLimitsStay() throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, FAST_SCAN.copy().put("maxLimitsFileBytes", 4096))) {
      long version = sluice.sluice().limits().get().version();
      // Valid limits, the same rules with a little more in capacity: only its size is wrong with it.
      Files.writeString(sluice.limitsFile(), LIMITS.replace("\"capacity\": 5,", "\"capacity\": 9,") + " ".repeat(8192));
      Await.until("the refusal", SOON, () -> sluice.sluice().limits().status().rejected() == 1);
      LimitsStatus status = sluice.sluice().limits().status();
      assertThat(status.lastRejection().reason()).contains("above maxLimitsFileBytes (4096): it was not read");
      assertEquals(version, status.current().version());
      assertEquals(5, sluice.check(newUser(), "login").getLimit());

      Files.writeString(sluice.limitsFile(), LIMITS.replace("\"capacity\": 5,", "\"capacity\": 6,"));
      Await.until("the next valid file", SOON, () -> sluice.check(newUser(), "login").getLimit() == 6);
    }
  }

  @Test
  void aHalfWrittenFileIsReadAgainInsteadOfReported() throws Exception {
    // A scan a second: the editor's second write comes well before the next scan, as it would.
    try (LogCapture logs = LogCapture.debugOf(WatchedFiles.class);
         SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, new JsonObject().put("limitsScanMs", 1000))) {
      String edited = LIMITS.replace("\"capacity\": 5,", "\"capacity\": 7,");
      Files.writeString(sluice.limitsFile(), edited.substring(0, edited.length() / 2));
      // Certainly seen half-written: a scan read it, and held it back to read it again.
      Await.until("a scan to read the half-written file", SOON, () -> logs.said("read again at the next scan before this is reported"));
      Files.writeString(sluice.limitsFile(), edited);
      Await.until("the edited limit", SOON, () -> sluice.check(newUser(), "login").getLimit() == 7);
      assertEquals(0, sluice.sluice().limits().status().rejected());
    }
  }

  @Test
  void aPublishedChangeReachesEveryInstanceAndChangesOnlyTheNamedRule() throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      awaitSubscribed(a, b);
      Rule searchBefore = a.sluice().limits().get().ruleFor("search");

      long receivers = publish("{\"rules\": {\"login\": {\"capacity\": 8, \"refillPerSecond\": 1}}}");

      assertThat(receivers).isGreaterThanOrEqualTo(2);
      for (SluiceFixture instance : List.of(a, b)) {
        Await.until("the published limit", SOON, () -> instance.sluice().limits().get().ruleFor("login").capacity() == 8);
        assertEquals(searchBefore, instance.sluice().limits().get().ruleFor("search"));
        assertEquals(8, instance.check(newUser(), "login").getLimit());
      }
      assertEquals(a.sluice().limits().get().digest(), b.sluice().limits().get().digest());
    }
  }

  @Test
  void everyInstanceShowsThePublishedVersionAndDigestInForceWhateverItsOwnCountOfUpdates() throws Exception {
    try (SluiceFixture early = SluiceFixture.start(redis.uri(), LIMITS)) {
      awaitSubscribed(early);
      publish("{\"rules\": {\"login\": {\"capacity\": 21, \"refillPerSecond\": 1}}}");
      long stored = LimitsStore.publish(vertx, publisher, "{\"rules\": {\"search\": {\"capacity\": 22, \"refillPerSecond\": 1}}}",
          new JsonObject(LIMITS), 5000).await(10, TimeUnit.SECONDS).version();
      Await.until("both changes", SOON, () -> early.sluice().limits().status().publishedVersion() == stored);
      try (SluiceFixture late = SluiceFixture.start(redis.uri(), LIMITS)) {
        for (SluiceFixture instance : List.of(early, late)) {
          assertEquals(stored, instance.sluice().limits().status().publishedVersion());
          assertEquals(stored, instance.await(instance.client().getLimits()).getPublishedVersion());
          assertEquals(stored, instance.sluice().metrics().registry().find(Metrics.LIMITS_PUBLISHED_VERSION).gauge().value());
          assertEquals(Long.parseLong(early.sluice().limits().get().digest(), 16), instance.sluice().metrics().registry().find(Metrics.LIMITS_DIGEST).gauge().value());
        }
        assertEquals(early.sluice().limits().get().digest(), late.sluice().limits().get().digest());
      }
    }
  }

  @Test
  void aRawRedisCliPublishAppliesToRunningInstances() throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      awaitSubscribed(a, b);
      redis.command(Command.PUBLISH, RedisKeys.LIMITS_CHANNEL, "{\"rules\": {\"search\": null, \"export\": {\"capacity\": 3, \"refillPerSecond\": 1}}}");
      for (SluiceFixture instance : List.of(a, b)) {
        Await.until("the published rules", SOON, () -> instance.sluice().limits().get().rules().containsKey("export"));
        assertEquals("default", instance.check(newUser(), "search").getRule(), "a rule set to null is removed");
        assertEquals(3, instance.check(newUser(), "export").getLimit());
      }
    }
  }

  /**
   * A change an instance could not take through the store (here its Redis user may not WATCH) is
   * applied as received. It then claims a published version only when Redis holds exactly what it
   * applied: the tool's next stored change on top of a stored one.
   */
  @Test
  void aChangeAppliedAsReceivedClaimsOnlyAPublishedVersionThatRedisHolds() throws Exception {
    for (int node : redis.dataPorts()) {
      redis.commandOn(node, Command.ACL, "SETUSER", "no-watch", "on", ">no-watch-password", "~*", "&*", "+@all", "-watch");
    }
    // The ACL user of every node, in every mode.
    JsonObject asThatUser = FAST_SCAN.copy().put("redisUser", "no-watch").put("redisPassword", "no-watch-password");
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS, asThatUser).awaitSubscribed()) {
      long stored = LimitsStore.publish(vertx, publisher, "{\"rules\": {\"login\": {\"capacity\": 31, \"refillPerSecond\": 1}}}",
          new JsonObject(LIMITS), 5000).await(10, TimeUnit.SECONDS).version();
      Await.until("the tool's change", SOON, () -> sluice.check(newUser(), "login").getLimit() == 31);
      assertEquals(1, stored);
      assertEquals(1, sluice.sluice().limits().status().publishedVersion(), "applied as received, and what Redis holds as version 1");

      redis.command(Command.PUBLISH, RedisKeys.LIMITS_CHANNEL, "{\"rules\": {\"search\": {\"capacity\": 32, \"refillPerSecond\": 1}}}");
      Await.until("the raw change", SOON, () -> sluice.check(newUser(), "search").getLimit() == 32);
      LimitsStatus status = sluice.sluice().limits().status();
      assertEquals(0, status.publishedVersion(), "no stored version holds what is applied now");
      assertThat(status.current().source()).contains("an unstored change from redis channel " + RedisKeys.LIMITS_CHANNEL);

      // The tool's next change is stored on top of version 1, without the raw one: not what is applied here either.
      publish("{\"rules\": {\"checkout\": {\"capacity\": 33, \"refillPerSecond\": 1}}}");
      Await.until("the tool's second change", SOON, () -> sluice.check(newUser(), "checkout").getLimit() == 33);
      assertEquals(0, sluice.sluice().limits().status().publishedVersion());
    } finally {
      for (int node : redis.dataPorts()) {
        redis.commandOn(node, Command.ACL, "DELUSER", "no-watch");
      }
    }
  }

  @Test
  void anInstanceStartedAfterAPublishComesUpWithThePublishedLimits() throws Exception {
    publish("{\"rules\": {\"login\": {\"capacity\": 12, \"refillPerSecond\": 1}}}");
    publish("{\"rules\": {\"search\": {\"capacity\": 13, \"refillPerSecond\": 1}}}");
    try (SluiceFixture late = SluiceFixture.start(redis.uri(), LIMITS)) {
      assertEquals(12, late.check(newUser(), "login").getLimit());
      assertEquals(13, late.check(newUser(), "search").getLimit());
      assertThat(late.sluice().limits().get().source()).endsWith("+ redis " + RedisKeys.LIMITS_KEY);
    }
  }

  @Test
  void anInvalidMessageIsRejectedWholeAndReported() throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      awaitSubscribed(sluice);
      redis.command(Command.PUBLISH, RedisKeys.LIMITS_CHANNEL,
          "{\"rules\": {\"login\": {\"capacity\": 9, \"refillPerSecond\": 1}, \"search\": {\"capacity\": 0, \"refillPerSecond\": 1}}}");
      Await.until("the rejection", SOON, () -> sluice.sluice().limits().status().rejected() == 1);
      assertEquals(5, sluice.check(newUser(), "login").getLimit(), "nothing of a rejected message applies");

      io.sluice.grpc.v1.LimitsStatus visible = sluice.await(sluice.client().getLimits());
      assertThat(visible.getLastRejectionReason()).contains("rules.search.capacity must be a whole number from 1 to 1000000000, was 0");
      assertEquals("redis sluice:limits", visible.getLastRejectionSource());
      assertEquals(1, visible.getRejected());

      redis.command(Command.PUBLISH, RedisKeys.LIMITS_CHANNEL, "{\"rules\": ");
      Await.until("the second rejection", SOON, () -> sluice.sluice().limits().status().rejected() == 2);
      redis.command(Command.PUBLISH, RedisKeys.LIMITS_CHANNEL, "{\"rules\": {\"default\": null}}");
      Await.until("the third rejection", SOON, () -> sluice.sluice().limits().status().rejected() == 3);
      assertEquals(99, sluice.check(newUser(), "other").getLimit());
      assertThat(sluice.await(sluice.client().getLimits()).getLastRejectionSuperseded()).isFalse();

      // A later update that is applied makes the refusal history, and the status says so.
      redis.command(Command.PUBLISH, RedisKeys.LIMITS_CHANNEL, "{\"rules\": {\"login\": {\"capacity\": 6, \"refillPerSecond\": 1}}}");
      Await.until("the valid update", SOON, () -> sluice.check(newUser(), "login").getLimit() == 6);
      io.sluice.grpc.v1.LimitsStatus after = sluice.await(sluice.client().getLimits());
      assertThat(after.getLastRejectionSuperseded()).isTrue();
      assertThat(after.getLastRejectionReason()).contains("rules.default is required");
    }
  }

  @Test
  void theToolRefusesAnInvalidMessageAndStoresNothing() {
    assertThat(rootCause(() -> publish("{\"rules\": {\"login\": {\"capacity\": -1, \"refillPerSecond\": 1}}}")))
        .contains("rules.login.capacity");
    assertThat(rootCause(() -> publish("{\"rules\": {\"default\": null}}")))
        .as("valid on its own, invalid on top of the file: refused as well").contains("rules.default is required");
    assertNull(redis.command(Command.GET, RedisKeys.LIMITS_KEY));
  }

  /**
   * The way a fleet used to split: an invalid change stored, a valid one merged on top of it, and an
   * instance that starts afterwards refusing the whole stored document while the others run with the
   * valid change. Through the tool and through raw PUBLISH alike, a late instance must enforce what
   * the running ones enforce.
   */
  @Test
  void invalidThenValidChangesNeverSplitTheFleetForAnInstanceThatStartsLater() throws Exception {
    try (SluiceFixture a = SluiceFixture.start(redis.uri(), LIMITS);
         SluiceFixture b = SluiceFixture.start(redis.uri(), LIMITS)) {
      awaitSubscribed(a, b);
      assertThat(rootCause(() -> publish("{\"rules\": {\"default\": null}}"))).contains("rules.default is required");
      redis.command(Command.PUBLISH, RedisKeys.LIMITS_CHANNEL, "{\"rules\": {\"default\": null}}");
      Await.until("both instances to refuse the raw invalid change", SOON,
          () -> a.sluice().limits().status().rejected() == 1 && b.sluice().limits().status().rejected() == 1);
      assertNull(redis.command(Command.GET, RedisKeys.LIMITS_KEY), "no trace of either invalid change");

      publish("{\"rules\": {\"checkout\": {\"capacity\": 11, \"refillPerSecond\": 1}}}");
      redis.command(Command.PUBLISH, RedisKeys.LIMITS_CHANNEL, "{\"rules\": {\"search\": {\"capacity\": 17, \"refillPerSecond\": 1}}}");
      for (SluiceFixture instance : List.of(a, b)) {
        Await.until("both changes applied", SOON, () -> instance.sluice().limits().get().ruleFor("search").capacity() == 17
            && instance.sluice().limits().get().ruleFor("checkout").capacity() == 11);
      }

      try (SluiceFixture late = SluiceFixture.start(redis.uri(), LIMITS)) {
        assertEquals(11, late.check(newUser(), "checkout").getLimit());
        assertEquals(17, late.check(newUser(), "search").getLimit(), "a raw PUBLISH that was accepted is stored too");
        String digest = a.sluice().limits().get().digest();
        assertEquals(digest, b.sluice().limits().get().digest());
        assertEquals(digest, late.sluice().limits().get().digest(), "the late instance enforces what the running ones do");
        assertEquals(digest, late.await(late.client().getLimits()).getDigest());
      }
    }
  }

  @Test
  void theSubscriptionComesBackAfterItsConnectionIsKilled() throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      awaitSubscribed(sluice);
      redis.command(Command.CLIENT, "KILL", "TYPE", "pubsub");
      // Published while the subscription is down: the catch-up read after resubscribing finds it.
      publish("{\"rules\": {\"login\": {\"capacity\": 21, \"refillPerSecond\": 1}}}");
      Await.until("the missed change", SOON, () -> sluice.sluice().limits().get().ruleFor("login").capacity() == 21);
      awaitSubscribed(sluice);
      publish("{\"rules\": {\"login\": {\"capacity\": 22, \"refillPerSecond\": 1}}}");
      Await.until("a later change", SOON, () -> sluice.sluice().limits().get().ruleFor("login").capacity() == 22);
    }
  }

  @Test
  void replaceTakesTheWholeSetAndResetGoesBackToTheFile() throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      awaitSubscribed(sluice);
      publish("{\"replace\": true, \"rules\": {\"default\": {\"capacity\": 4, \"refillPerSecond\": 1}}}");
      Await.until("the replacement", SOON, () -> sluice.sluice().limits().get().rules().size() == 1);
      assertEquals("default", sluice.check(newUser(), "login").getRule());

      publish("{\"reset\": true}");
      Await.until("the file's limits", SOON, () -> sluice.sluice().limits().get().rules().size() == 3);
      assertEquals("login", sluice.check(newUser(), "login").getRule());
      assertEquals("file " + sluice.limitsFile(), sluice.sluice().limits().get().source());
    }
  }

  @Test
  void tokensCarryOverCappedAtTheNewCapacity() throws Exception {
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      awaitSubscribed(sluice);
      String user = newUser();
      assertEquals(7, sluice.check(user, "search", 3).getRemaining());

      publish("{\"rules\": {\"search\": {\"capacity\": 4, \"refillPerSecond\": 0.001}}}");
      Await.until("the lower limit", SOON, () -> sluice.sluice().limits().get().ruleFor("search").capacity() == 4);
      assertEquals(3, sluice.check(user, "search").getRemaining(), "7 tokens capped at 4, minus 1");

      publish("{\"rules\": {\"search\": {\"capacity\": 40, \"refillPerSecond\": 0.001}}}");
      Await.until("the higher limit", SOON, () -> sluice.sluice().limits().get().ruleFor("search").capacity() == 40);
      assertEquals(2, sluice.check(user, "search").getRemaining(), "a raised limit does not hand out tokens");
    }
  }

  @Test
  void checksDuringFiftySwapsNeverFailAndNeverSeeAHalfAppliedSet() throws Exception {
    String withRule = "{\"rules\": {\"burst\": {\"capacity\": 1000, \"refillPerSecond\": 1}}}";
    String withoutRule = "{\"rules\": {\"burst\": null}}";
    try (SluiceFixture sluice = SluiceFixture.start(redis.uri(), LIMITS)) {
      awaitSubscribed(sluice);
      AtomicBoolean swapping = new AtomicBoolean(true);
      ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
      List<Thread> checkers = new java.util.ArrayList<>();
      for (int i = 0; i < 4; i++) {
        Thread checker = new Thread(() -> {
          while (swapping.get()) {
            try {
              CheckResponse response = sluice.check(newUser(), "burst");
              boolean consistent = ("burst".equals(response.getRule()) && response.getLimit() == 1000)
                  || ("default".equals(response.getRule()) && response.getLimit() == 99);
              if (!consistent || response.getDecision() != Decision.ALLOW || response.getDegraded()) {
                problems.add(response.toString());
              }
            } catch (RuntimeException e) {
              problems.add(e.toString());
            }
          }
        });
        checker.start();
        checkers.add(checker);
      }
      for (int swap = 0; swap < 50; swap++) {
        boolean add = swap % 2 == 0;
        publish(add ? withRule : withoutRule);
        Await.until("swap " + swap, SOON, () -> sluice.sluice().limits().get().rules().containsKey("burst") == add);
      }
      swapping.set(false);
      for (Thread checker : checkers) {
        checker.join();
      }
      assertThat(problems).isEmpty();
      assertThat(sluice.sluice().limits().status().applied()).isGreaterThanOrEqualTo(51);
    }
  }

  private long publish(String message) {
    try {
      return LimitsStore.publish(vertx, publisher, message, new JsonObject(LIMITS), 5000).await(10, TimeUnit.SECONDS).receivers();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void awaitSubscribed(SluiceFixture... instances) {
    for (SluiceFixture instance : instances) {
      instance.awaitSubscribed();
      Await.until("the limits subscription", SOON, () -> instance.sluice().limitsSubscribed());
    }
  }

  private static String rootCause(Runnable action) {
    try {
      action.run();
    } catch (RuntimeException e) {
      Throwable cause = e;
      while (cause.getCause() != null) {
        cause = cause.getCause();
      }
      return cause.getMessage();
    }
    throw new AssertionError("expected a failure");
  }

  private static String newUser() {
    return "live-" + UUID.randomUUID();
  }
}
