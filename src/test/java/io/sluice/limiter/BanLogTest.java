package io.sluice.limiter;

import io.sluice.support.RedisExtension;
import io.sluice.support.TestRedis;
import io.sluice.telemetry.Metrics;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The bans rules made, as one event loop writes them: bounded per flush, whatever a flood of bans does. */
@ExtendWith(RedisExtension.class)
class BanLogTest {

  @Test
  void aFloodOfBansWritesAtMostItsBoundPerFlushAndCountsTheRest(TestRedis redis) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      Redis client = Redis.createClient(vertx, redis.uri());
      Metrics metrics = new Metrics();
      BanLog log = new BanLog(client, metrics);
      String prefix = "flooded-" + UUID.randomUUID() + "-";
      int flood = BanLog.MAX_PER_FLUSH + 50;
      for (int i = 0; i < flood; i++) {
        log.record(prefix + i, "", "card", "user", 1, 10_000, 2, "2 violations of rule card within 60s");
      }
      log.flush().await();
      // Nothing is carried over: the next flush writes the next second's bans only.
      log.record(prefix + "later", "login", "login", "action", 2, 20_000, 3, "3 violations of rule login within 60s");
      log.flush().await();

      List<BanLog.Entry> written = BanLog.recent(client, 5_000, BanLog.MAX_READ, "").toCompletionStage().toCompletableFuture()
          .get(10, TimeUnit.SECONDS).stream().filter(entry -> entry.user().startsWith(prefix)).toList();
      assertEquals(BanLog.MAX_PER_FLUSH + 1, written.size());
      assertEquals(prefix + "later", written.get(0).user());
      assertEquals(List.of("login", 2, 20_000L), List.of(written.get(0).actionOrEmpty(), written.get(0).level(), written.get(0).lengthMs()));
      assertEquals(prefix + (BanLog.MAX_PER_FLUSH - 1), written.get(1).user(), "the first bans of a flood are kept, the rest dropped");
      assertEquals(50.0, metrics.registry().get(Metrics.BAN_LOG_DROPPED).counter().count());
      Response length = redis.command(Command.XLEN, BanLog.KEY);
      assertEquals(true, length.toLong() >= BanLog.MAX_PER_FLUSH + 1);
    } finally {
      vertx.close().await();
    }
  }
}
