package io.sluice.cli;

import io.vertx.core.net.SocketAddress;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.List;

/** The {@code --targets} option of the subcommands that talk to the whole fleet (a picocli mixin). */
public final class FleetTargets {

  @Option(names = "--targets", defaultValue = "127.0.0.1:50051,127.0.0.1:50052",
      description = "Sluice instances, host:port,... (default: ${DEFAULT-VALUE}); requests go round robin.")
  String targets;

  public List<SocketAddress> addresses() {
    return Arrays.stream(targets.split(",")).map(String::trim).filter(t -> !t.isEmpty()).map(Targets::parse).toList();
  }

  @Override
  public String toString() {
    return targets;
  }
}
