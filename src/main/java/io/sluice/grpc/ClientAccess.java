package io.sluice.grpc;

import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;

/**
 * How a client reaches a Sluice instance: plain or TLS (a CA to trust, a client certificate for
 * mTLS), and the bearer token it shows to the Admin service and to ReportLatency. The token is
 * never sent with checks.
 *
 * @param caPath       PEM CA to trust; empty: the JVM's trust store
 * @param certPath     PEM client certificate, with {@code keyPath}, for servers that require one; empty: none
 * @param bearerToken  empty: none
 */
public record ClientAccess(boolean tls, String caPath, String certPath, String keyPath, String bearerToken) {

  public static final ClientAccess PLAIN = new ClientAccess(false, "", "", "", "");

  /** The same, showing {@code token}. */
  public ClientAccess withToken(String token) {
    return new ClientAccess(tls, caPath, certPath, keyPath, token == null ? "" : token);
  }

  public HttpClientOptions httpOptions() {
    HttpClientOptions options = new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2);
    if (!tls) {
      return options.setHttp2ClearTextUpgrade(false);
    }
    options.setSsl(true).setUseAlpn(true).setVerifyHost(true);
    if (!caPath.isEmpty()) {
      options.setTrustOptions(new PemTrustOptions().addCertPath(caPath));
    }
    if (!certPath.isEmpty()) {
      options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(certPath).setKeyPath(keyPath));
    }
    return options;
  }

  @Override
  public String toString() {
    return "ClientAccess[tls=" + tls + ", caPath=" + caPath + ", certPath=" + certPath + ", keyPath=" + keyPath
        + ", bearerToken=" + (bearerToken.isEmpty() ? "(none)" : "***") + "]";
  }
}
