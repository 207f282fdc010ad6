package io.sluice.redis;

import io.sluice.config.Settings;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import io.vertx.redis.client.ResponseType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A dedicated Pub/Sub connection: subscribes to its channels, hands each message to the channel's
 * handler, and when the connection drops, reconnects with exponential backoff and subscribes
 * again by itself. Listeners hear when the subscription is up (every channel confirmed) and when
 * it is lost, so that state fed by Pub/Sub can be caught up or distrusted.
 *
 * <p>A socket can stay open while nothing comes through it (a hung Redis, a half-open TCP
 * connection): the connection is pinged every {@link #PING_INTERVAL_MS}, and one that does not
 * answer within {@link #PONG_TIMEOUT_MS} is taken for lost, so that is noticed within 3 seconds.
 * The timer that finds a PING unanswered may itself run late behind a busy event loop, with the
 * PONG unread in the socket: the verdict waits for one more poll of the sockets, so that an
 * overloaded instance does not take its own lag for Redis's silence.
 */
public final class Subscriber {

  private static final Logger log = LoggerFactory.getLogger(Subscriber.class);

  static final long FIRST_BACKOFF_MS = 100;
  /** Short: unban notices missed while away are caught up only once the subscription is back. */
  static final long MAX_BACKOFF_MS = 1_000;
  static final long PING_INTERVAL_MS = 1_000;
  static final long PONG_TIMEOUT_MS = 2_000;

  private final Vertx vertx;
  private final List<Redis> clients;
  private int attempt;
  private final Map<String, Handler<String>> handlers = new LinkedHashMap<>();
  private final List<Consumer<Boolean>> stateListeners = new CopyOnWriteArrayList<>();
  private RedisConnection connection;
  private long backoffMs = FIRST_BACKOFF_MS;
  private int confirmed;
  private long pingTimer = -1;
  private volatile boolean subscribed;
  private boolean closed;

  public Subscriber(Vertx vertx, Settings settings, RedisTopology topology) {
    this.vertx = vertx;
    this.clients = RedisClients.pubSub(vertx, settings.redis(), topology);
  }

  /** Registers a channel before {@link #start}. */
  public Subscriber channel(String name, Handler<String> handler) {
    handlers.put(name, handler);
    return this;
  }

  /** Called with true once every channel is confirmed, false when the connection is lost. */
  public Subscriber onStateChange(Consumer<Boolean> listener) {
    stateListeners.add(listener);
    return this;
  }

  public boolean isSubscribed() {
    return subscribed;
  }

  /** Connects in the background: completes at once, since Redis may come later. */
  public Future<Void> start() {
    connect();
    return Future.succeededFuture();
  }

  private void connect() {
    if (closed) {
      return;
    }
    // In a Cluster each attempt tries the next node: a node that is gone does not keep the subscription away.
    clients.get(attempt++ % clients.size()).connect()
        .compose(this::subscribe)
        .onFailure(this::retryLater);
  }

  private Future<Void> subscribe(RedisConnection conn) {
    connection = conn;
    confirmed = 0;
    conn.handler(this::onPush);
    conn.exceptionHandler(e -> log.debug("pub/sub connection error: {}", e.toString()));
    conn.endHandler(ended -> lost(conn, "connection closed"));
    Request subscribe = Request.cmd(Command.SUBSCRIBE);
    handlers.keySet().forEach(subscribe::arg);
    // A connection that opened but never confirms (a Redis that hangs, a half-open socket) is given up
    // like one that stops answering PINGs: else the subscription would never come back.
    vertx.setTimer(PONG_TIMEOUT_MS, unconfirmed -> {
      if (conn == connection && !subscribed) {
        // The same second look as a PING's, after the event loop polled again.
        vertx.setTimer(1, again -> {
          if (conn == connection && !subscribed) {
            lost(conn, "SUBSCRIBE not confirmed within " + PONG_TIMEOUT_MS + " ms");
            conn.close();
          }
        });
      }
    });
    return conn.send(subscribe).mapEmpty();
  }

  private void onPush(Response push) {
    if (push.type() != ResponseType.PUSH && push.type() != ResponseType.MULTI || push.size() < 3) {
      return;
    }
    String kind = push.get(0).toString();
    if ("message".equals(kind)) {
      Handler<String> handler = handlers.get(push.get(1).toString());
      if (handler != null) {
        try {
          handler.handle(push.get(2).toString());
        } catch (RuntimeException e) {
          log.error("pub/sub handler of {} failed", push.get(1), e);
        }
      }
    } else if ("subscribe".equals(kind) && ++confirmed == handlers.size()) {
      backoffMs = FIRST_BACKOFF_MS;
      setSubscribed(true);
      log.info("subscribed to {}", handlers.keySet());
      RedisConnection subscribedOn = connection;
      pingTimer = vertx.setPeriodic(PING_INTERVAL_MS, tick -> ping(subscribedOn));
    }
  }

  private void ping(RedisConnection conn) {
    if (conn != connection) {
      return;
    }
    Future<Response> pong = conn.send(Request.cmd(Command.PING));
    vertx.setTimer(PONG_TIMEOUT_MS, late -> {
      if (!pong.isComplete()) {
        // At least a millisecond later, after the event loop polled its sockets again.
        vertx.setTimer(1, again -> {
          if (!pong.isComplete() && conn == connection) {
            lost(conn, "no answer to PING within " + PONG_TIMEOUT_MS + " ms");
            conn.close();
          }
        });
      }
    });
  }

  private void lost(RedisConnection conn, String why) {
    if (conn != connection) {
      return;
    }
    connection = null;
    vertx.cancelTimer(pingTimer);
    setSubscribed(false);
    if (!closed) {
      log.warn("pub/sub subscription lost ({}); reconnecting", why);
      retryLater(null);
    }
  }

  private void retryLater(Throwable failure) {
    if (closed) {
      return;
    }
    if (failure != null) {
      log.debug("pub/sub connect failed: {}", failure.toString());
    }
    long delay = backoffMs;
    backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    vertx.setTimer(delay, timer -> connect());
  }

  private void setSubscribed(boolean now) {
    if (subscribed != now) {
      subscribed = now;
      stateListeners.forEach(listener -> listener.accept(now));
    }
  }

  public Future<Void> close() {
    closed = true;
    vertx.cancelTimer(pingTimer);
    setSubscribed(false);
    Promise<Void> done = Promise.promise();
    RedisConnection conn = connection;
    connection = null;
    (conn == null ? Future.<Void>succeededFuture() : conn.close())
        .eventually(() -> {
          clients.forEach(Redis::close);
          return Future.succeededFuture();
        })
        .onComplete(ignored -> done.complete());
    return done.future();
  }
}
