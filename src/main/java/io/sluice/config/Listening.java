package io.sluice.config;

import io.sluice.config.Settings;
import io.vertx.core.Future;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServer;

import java.net.BindException;
import java.util.concurrent.TimeUnit;

/**
 * Opening a port, with a failure that names what could not listen where: "Address already in use"
 * alone leaves an operator with three ports to guess from; and the defences every port has.
 */
public final class Listening {

  private Listening() {
  }

  /** A port's own defences: streams per connection, idle connections, HTTP/2 rapid reset. */
  public static HttpServerOptions guarded(Settings.Connections connections) {
    return new HttpServerOptions()
        .setInitialSettings(new Http2Settings().setMaxConcurrentStreams(connections.maxStreamsPerConnection()))
        .setIdleTimeout(connections.idleTimeoutMs())
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
        .setHttp2RstFloodMaxRstFramePerWindow(connections.rstFloodMax())
        .setHttp2RstFloodWindowDuration(connections.rstFloodWindowMs())
        .setHttp2RstFloodWindowDurationTimeUnit(TimeUnit.MILLISECONDS);
  }

  /**
   * @param listener what the port is for ("gRPC", "HTTP (metrics, health, admin)")
   * @param flag     the command-line flag that moves it, for the message
   */
  public static Future<HttpServer> listen(HttpServer server, String listener, String host, int port, String flag) {
    return listen(server, listener, host, port, flag, null, 0);
  }

  /**
   * The same, trying again every {@link #RETRY_MS} for up to {@code inUseForMs} while the port is in
   * use: after a warm-up, the port may be held for a moment by one of the warm-up's own loopback
   * sockets, which the system gave a number that happens to be this port's.
   */
  public static Future<HttpServer> listen(HttpServer server, String listener, String host, int port, String flag,
                                          io.vertx.core.Vertx vertx, long inUseForMs) {
    return server.listen(port, host).recover(cause -> {
      boolean inUse = cause instanceof BindException && String.valueOf(cause.getMessage()).contains("in use");
      if (inUse && inUseForMs > 0) {
        return vertx.timer(RETRY_MS).compose(later -> listen(server, listener, host, port, flag, vertx, inUseForMs - RETRY_MS));
      }
      return Future.failedFuture(new IllegalStateException(inUse
          ? listener + " port " + host + ":" + port + " is already in use by another process (choose another with " + flag + ")"
          : listener + " cannot listen on " + host + ":" + port + ": " + cause.getMessage(), cause));
    });
  }

  private static final long RETRY_MS = 100;
}
