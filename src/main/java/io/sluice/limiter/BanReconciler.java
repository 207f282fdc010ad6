package io.sluice.limiter;

import io.sluice.redis.RedisKeys;
import io.vertx.core.Future;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Catches the ban cache up with Redis after this instance could not hear unban notices: every ban
 * cached here is looked up in Redis, and those Redis no longer holds (lifted meanwhile) are dropped.
 * Bans Redis still holds stay, as do those it cannot be asked about (they end on their own). One pass
 * at a time: a subscription that flaps asks for one more pass after the current one, not for many at once.
 */
public final class BanReconciler {

  private static final Logger log = LoggerFactory.getLogger(BanReconciler.class);

  /** Bans asked about at once: a full cache is asked in rounds, not in one burst on the admin pool. */
  private static final int ROUND = 64;
  private static final long ROUND_TIMEOUT_MS = 5_000;

  private final BanCache cache;
  private final Redis redis;
  private boolean running;
  private boolean again;

  public BanReconciler(BanCache cache, Redis redis) {
    this.cache = cache;
    this.redis = redis;
  }

  /** Starts a pass, or asks for one more after the pass under way. Called on one event loop. */
  public void run() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    Future<Integer> pass;
    try {
      pass = reconcile(cache, redis);
    } catch (RuntimeException e) {
      pass = Future.failedFuture(e);
    }
    pass.onFailure(e -> log.warn("could not check the cached bans against redis: {}", e.toString()))
        .onComplete(done -> {
          running = false;
          if (again) {
            run();
          }
        });
  }

  /** @return how many cached bans were dropped */
  static Future<Integer> reconcile(BanCache cache, Redis redis) {
    List<BanCache.Cached> cached = cache.cached();
    if (cached.isEmpty()) {
      return Future.succeededFuture(0);
    }
    return round(cache, redis, cached, 0, 0).onSuccess(dropped -> {
      if (dropped > 0) {
        log.info("{} of {} cached bans were lifted while unban notices could not arrive: dropped", dropped, cached.size());
      }
    });
  }

  private static Future<Integer> round(BanCache cache, Redis redis, List<BanCache.Cached> cached, int from, int dropped) {
    if (from >= cached.size()) {
      return Future.succeededFuture(dropped);
    }
    List<BanCache.Cached> these = cached.subList(from, Math.min(cached.size(), from + ROUND));
    List<Future<Response>> exists = new ArrayList<>(these.size());
    for (BanCache.Cached ban : these) {
      exists.add(redis.send(Request.cmd(Command.EXISTS).arg(RedisKeys.ban(ban.userId(), ban.actionOrEmpty()))));
    }
    // A round Redis does not answer (a half-open pooled socket) must not hold every later pass back.
    return Future.join(exists).timeout(ROUND_TIMEOUT_MS, java.util.concurrent.TimeUnit.MILLISECONDS).transform(asked -> {
      int droppedNow = 0;
      for (int i = 0; i < these.size(); i++) {
        Future<Response> answer = exists.get(i);
        if (answer.succeeded() && answer.result() != null && answer.result().toInteger() == 0 && cache.dropIfUnchanged(these.get(i))) {
          droppedNow++;
        }
      }
      return round(cache, redis, cached, from + ROUND, dropped + droppedNow);
    });
  }
}
