package io.sluice.cli;

import io.vertx.core.net.SocketAddress;

/** Parses {@code host:port} targets given on the command line. */
final class Targets {

  private Targets() {
  }

  static SocketAddress parse(String target) {
    int colon = target.lastIndexOf(':');
    if (colon <= 0 || colon == target.length() - 1) {
      throw new IllegalArgumentException("target must be host:port, was '" + target + "'");
    }
    try {
      return SocketAddress.inetSocketAddress(Integer.parseInt(target.substring(colon + 1)), target.substring(0, colon));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("target must be host:port, was '" + target + "'");
    }
  }
}
