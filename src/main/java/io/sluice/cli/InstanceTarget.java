package io.sluice.cli;

import io.vertx.core.net.SocketAddress;
import picocli.CommandLine.Option;

/** The {@code --target} option of the subcommands that talk to one instance (a picocli mixin). */
final class InstanceTarget {

  @Option(names = "--target", defaultValue = "127.0.0.1:50051", description = "host:port of a Sluice instance (default: ${DEFAULT-VALUE}).")
  String target;

  SocketAddress address() {
    return Targets.parse(target);
  }
}
