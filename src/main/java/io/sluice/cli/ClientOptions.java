package io.sluice.cli;

import io.sluice.grpc.ClientAccess;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How the CLI reaches Sluice (a picocli mixin): TLS, a client certificate, and the admin token.
 * The token comes from {@code --token-file} or the {@code SLUICE_ADMIN_TOKEN} environment variable,
 * so that it need not be on a command line, where other users of the machine can read it;
 * {@code --token} is there for the rest.
 */
public final class ClientOptions {

  static final String TOKEN_VARIABLE = "SLUICE_ADMIN_TOKEN";

  @Option(names = "--tls", description = "Connect with TLS.")
  boolean tls;

  @Option(names = "--tls-ca", description = "PEM CA to trust (default: the JVM's trust store); implies --tls.")
  Path ca;

  @Option(names = "--tls-cert", description = "PEM client certificate, for servers that require one (mTLS); implies --tls.")
  Path cert;

  @Option(names = "--tls-key", description = "PEM private key of --tls-cert.")
  Path key;

  @Option(names = "--token-file", description = "File holding the admin token (default: the SLUICE_ADMIN_TOKEN environment variable).")
  Path tokenFile;

  @Option(names = "--token", description = "The admin token itself; prefer --token-file or SLUICE_ADMIN_TOKEN, since a command line is visible to other users.")
  String token;

  public ClientAccess access() {
    if ((cert == null) != (key == null)) {
      throw new IllegalArgumentException("--tls-cert and --tls-key go together");
    }
    return new ClientAccess(tls || ca != null || cert != null, text(ca), text(cert), text(key), token());
  }

  private String token() {
    if (token != null) {
      return token;
    }
    if (tokenFile != null) {
      try {
        return Files.readString(tokenFile).trim();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read --token-file " + tokenFile + ": " + e.getMessage(), e);
      }
    }
    String fromEnvironment = System.getenv(TOKEN_VARIABLE);
    return fromEnvironment == null ? "" : fromEnvironment.trim();
  }

  /** Where the token came from, for a message that says which to fix; null when none was given. */
  String tokenSource() {
    if (token != null) {
      return "--token";
    }
    if (tokenFile != null) {
      return "--token-file " + tokenFile;
    }
    String fromEnvironment = System.getenv(TOKEN_VARIABLE);
    return fromEnvironment == null || fromEnvironment.isBlank() ? null : TOKEN_VARIABLE;
  }

  boolean hasClientCertificate() {
    return cert != null;
  }

  boolean usesTls() {
    return tls || ca != null || cert != null;
  }

  private static String text(Path path) {
    return path == null ? "" : path.toString();
  }
}
