package io.sluice.support;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy in front of one Redis that can cut off whoever uses it, and only them: paused, it
 * forwards nothing either way (bytes wait in the sockets, as behind a network partition that holds
 * packets), while everyone else still reaches Redis. Resumed, everything held goes through. Or it
 * can lose Redis's replies, dropping the connections they were on ({@link #loseReplies}).
 */
public final class PausableProxy implements AutoCloseable {

  private final Vertx vertx = Vertx.vertx();
  private final NetServer server;
  private final List<NetSocket> sockets = new CopyOnWriteArrayList<>();
  private volatile boolean paused;
  private volatile boolean losingReplies;

  private PausableProxy(int targetPort) throws Exception {
    NetClient client = vertx.createNetClient();
    server = vertx.createNetServer().connectHandler(downstream -> {
      downstream.pause();
      client.connect(targetPort, "127.0.0.1").onComplete(connected -> {
        if (connected.failed()) {
          downstream.close();
          return;
        }
        NetSocket upstream = connected.result();
        sockets.add(downstream);
        sockets.add(upstream);
        downstream.handler(upstream::write);
        upstream.handler(reply -> {
          if (losingReplies) {
            // What Redis ran, its client never hears: the connection drops with the reply on its way.
            downstream.close();
          } else {
            downstream.write(reply);
          }
        });
        downstream.closeHandler(closed -> upstream.close());
        upstream.closeHandler(closed -> downstream.close());
        if (!paused) {
          downstream.resume();
        } else {
          upstream.pause();
        }
      });
    });
    server.listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  public static PausableProxy to(int redisPort) throws Exception {
    return new PausableProxy(redisPort);
  }

  /** What a client of the proxy takes for Redis. */
  public String uri() {
    return "redis://127.0.0.1:" + server.actualPort();
  }

  /** Forwards nothing more, either way, on every connection, old or new, until {@link #resume}. */
  public void pause() {
    paused = true;
    sockets.forEach(NetSocket::pause);
  }

  /**
   * While {@code losing}, each connection that Redis answers is closed instead of answered: the
   * commands ran, their replies are lost (a connection dropped mid-call).
   */
  public void loseReplies(boolean losing) {
    losingReplies = losing;
  }

  public void resume() {
    paused = false;
    sockets.forEach(NetSocket::resume);
  }

  @Override
  public void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }
}
