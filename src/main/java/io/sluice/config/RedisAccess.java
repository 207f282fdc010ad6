package io.sluice.config;

import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemTrustOptions;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * How to reach one Redis node and log in: its address, TLS, ACL user and password, database.
 * Built from the {@code redis} setting, so the check path's own connections and the
 * vertx-redis-client ones log in alike.
 *
 * @param user     ACL user; empty for the default user
 * @param password empty for none
 * @param tlsCa    PEM file of the CA to trust for {@code rediss://}; empty for the JVM's trust store
 */
public record RedisAccess(String host, int port, boolean tls, String user, String password, int database, String tlsCa) {

  public static final int DEFAULT_PORT = 6379;

  /** Parses {@code redis://[user:password@]host[:port][/db]} or {@code rediss://...} (TLS). */
  public static RedisAccess parse(String uri) {
    // Messages never repeat the URI: it may hold a password.
    URI parsed;
    try {
      parsed = URI.create(uri.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("redis must be a redis:// or rediss:// URI; this one does not parse (characters such as @ # / "
          + "in a password must be percent-encoded)");
    }
    String scheme = parsed.getScheme();
    if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
      throw new IllegalArgumentException("redis must be a redis:// or rediss:// URI, was a " + (scheme == null ? "URI without scheme" : scheme + ": URI"));
    }
    if (parsed.getHost() == null) {
      throw new IllegalArgumentException("redis URI names no host (expected redis://host:port)");
    }
    String user = "";
    String password = "";
    String userInfo = parsed.getRawUserInfo();
    if (userInfo != null) {
      int colon = userInfo.indexOf(':');
      user = decode(colon < 0 ? "" : userInfo.substring(0, colon));
      password = decode(colon < 0 ? userInfo : userInfo.substring(colon + 1));
    }
    int database = 0;
    String path = parsed.getPath();
    if (path != null && path.length() > 1) {
      try {
        database = Integer.parseInt(path.substring(1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("redis URI has a database that is not a number: " + path);
      }
    }
    return new RedisAccess(parsed.getHost(), parsed.getPort() < 0 ? DEFAULT_PORT : parsed.getPort(),
        "rediss".equals(scheme), user, password, database, "");
  }

  private static String decode(String part) {
    return URLDecoder.decode(part, StandardCharsets.UTF_8);
  }

  /** The same login on another node (a cluster master, a promoted replica). */
  public RedisAccess at(String otherHost, int otherPort) {
    return new RedisAccess(otherHost, otherPort, tls, user, password, database, tlsCa);
  }

  public RedisAccess withCredentials(String otherUser, String otherPassword, String caFile) {
    return new RedisAccess(host, port, tls, otherUser, otherPassword, database, caFile);
  }

  public String address() {
    return host + ":" + port;
  }

  /** TCP options for a connection to this node; TLS when the URI said {@code rediss://}. */
  public NetClientOptions netOptions(int connectTimeoutMs) {
    NetClientOptions options = new NetClientOptions()
        .setTcpNoDelay(true)
        .setTcpKeepAlive(true)
        .setConnectTimeout(connectTimeoutMs)
        .setSsl(tls);
    if (tls) {
      // The name in the URI is checked against the server's certificate, as HTTPS does.
      options.setHostnameVerificationAlgorithm("HTTPS");
      if (!tlsCa.isEmpty()) {
        options.setTrustOptions(new PemTrustOptions().addCertPath(tlsCa));
      }
    }
    return options;
  }

  /** The node's URI without credentials (vertx-redis-client takes them apart, so they need no encoding). */
  public String connectionString() {
    return (tls ? "rediss://" : "redis://") + address() + (database == 0 ? "" : "/" + database);
  }

  /** Masks the password, so that this can be logged. */
  @Override
  public String toString() {
    return (tls ? "rediss://" : "redis://") + (user.isEmpty() && password.isEmpty() ? "" : (user.isEmpty() ? "" : user) + ":***@")
        + address() + (database == 0 ? "" : "/" + database);
  }
}
