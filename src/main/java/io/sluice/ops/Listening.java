package io.sluice.ops;

import io.vertx.core.Future;
import io.vertx.core.http.HttpServer;

import java.net.BindException;

/**
 * Opening a port, with a failure that names what could not listen where: "Address already in use"
 * alone leaves an operator with three ports to guess from.
 */
public final class Listening {

  private Listening() {
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
