package io.sluice.cli;

import io.sluice.grpc.SluiceClient.CallFailedException;
import io.vertx.grpc.common.GrpcStatus;

import java.net.ConnectException;
import java.util.concurrent.TimeoutException;

/**
 * A failed call as a person can act on it: what went wrong in their terms and which option or
 * setting fixes it. Never {@code null}: an exception without a message is named by what it means.
 */
final class Failures {

  private Failures() {
  }

  static String explain(Throwable failure, String target, ClientOptions options, long waitedSeconds) {
    if (failure instanceof CallFailedException call) {
      // Only the Admin service takes the admin token (ReportLatency has a token of its own).
      if (call.status() == GrpcStatus.UNAUTHENTICATED && call.getMessage().contains("Admin service")) {
        String source = options.tokenSource();
        return source == null
            ? call.getMessage() + "; no admin token was given: pass --token-file FILE (or set " + ClientOptions.TOKEN_VARIABLE + ")"
            : call.getMessage() + "; the token from " + source + " was refused: it must be the instance's adminToken";
      }
      return call.getMessage();
    }
    String all = chain(failure);
    if (failure instanceof TimeoutException) {
      return "no answer from " + target + " within " + waitedSeconds + " s";
    }
    if (all.contains("not an SSL/TLS record")) {
      return "cannot connect to " + target + " with TLS: it does not speak TLS there (drop --tls, --tls-ca, --tls-cert)";
    }
    if (all.contains("PKIX path") || all.contains("unable to find valid certification path")) {
      return "cannot connect to " + target + " with TLS: its certificate is not trusted (pass the CA that signed it with --tls-ca)";
    }
    if (all.contains("certificate_required") || all.contains("bad_certificate")) {
      return options.hasClientCertificate()
          ? "cannot connect to " + target + " with TLS: it refused the client certificate given (--tls-cert): it must be signed by "
              + "the CA the server trusts"
          : noClientCertificate(target);
    }
    if (all.contains("Invalid HTTP response content-type")) {
      return target + " answered as an HTTP server, not gRPC: that is an instance's HTTP port (--http-port, 8081 by default);"
          + " point --target at its gRPC port (--port, 50051 by default)";
    }
    Throwable root = root(failure);
    if (root instanceof ConnectException) {
      return "cannot connect to " + target + ": " + message(root) + " (is an instance listening there?)";
    }
    boolean closed = all.contains("Connection reset") || all.contains("closed");
    if (closed && !options.usesTls()) {
      return target + " closed the connection without an answer: if it serves TLS, add --tls (and --tls-ca): " + message(failure);
    }
    if (closed && !options.hasClientCertificate()) {
      // With TLS 1.3 the server checks the client's certificate after the handshake, and just closes.
      return noClientCertificate(target);
    }
    return message(failure);
  }

  /**
   * One message whichever a client without a certificate meets first, the TLS 1.3 alert
   * (certificate_required) or the close that follows it: both mean the same to the user.
   */
  private static String noClientCertificate(String target) {
    return "cannot connect to " + target + " with TLS: it closed the connection, and no client certificate was given: "
        + "if it requires client certificates (mTLS), pass --tls-cert and --tls-key";
  }

  private static Throwable root(Throwable failure) {
    Throwable root = failure;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root;
  }

  private static String chain(Throwable failure) {
    StringBuilder all = new StringBuilder();
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      all.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage()).append('\n');
    }
    return all.toString();
  }

  /** A failure in words: its message, or its kind when it has none (never "null"). */
  static String message(Throwable failure) {
    return io.sluice.redis.AdminDeadline.why(failure);
  }
}
