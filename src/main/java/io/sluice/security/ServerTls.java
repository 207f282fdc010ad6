package io.sluice.security;

import io.sluice.config.Settings;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

/** TLS on a port this instance serves, from PEM files: the gRPC port, and the ops port when {@code httpTls} says so. */
public final class ServerTls {

  private ServerTls() {
  }

  /** The gRPC port: TLS when a certificate is set; client certificates required when a client CA is. */
  public static HttpServerOptions grpc(HttpServerOptions options, Settings.Security security) {
    if (!security.grpcTls()) {
      return options;
    }
    // gRPC over TLS negotiates HTTP/2 with ALPN.
    options.setUseAlpn(true);
    return apply(options, security, !security.tlsClientCa().isEmpty());
  }

  /** The ops port: {@code httpTls} off, tls, or mtls. */
  public static HttpServerOptions http(HttpServerOptions options, Settings.Security security) {
    return "off".equals(security.httpTls()) ? options : apply(options, security, "mtls".equals(security.httpTls()));
  }

  private static HttpServerOptions apply(HttpServerOptions options, Settings.Security security, boolean clientCertificates) {
    options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions().setCertPath(security.tlsCert()).setKeyPath(security.tlsKey()));
    if (clientCertificates) {
      options.setClientAuth(ClientAuth.REQUIRED).setTrustOptions(new PemTrustOptions().addCertPath(security.tlsClientCa()));
    }
    return options;
  }
}
