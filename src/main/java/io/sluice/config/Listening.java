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
    return server.listen(port, host).recover(cause -> Future.failedFuture(new IllegalStateException(
        cause instanceof BindException && String.valueOf(cause.getMessage()).contains("in use")
            ? listener + " port " + host + ":" + port + " is already in use by another process (choose another with " + flag + ")"
            : listener + " cannot listen on " + host + ":" + port + ": " + cause.getMessage(), cause)));
  }
}
