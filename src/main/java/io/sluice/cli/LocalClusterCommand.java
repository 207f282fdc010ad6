package io.sluice.cli;

import io.sluice.redis.LocalCluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code sluice local-cluster}: joins local cluster-enabled redis-server processes into one Cluster, for scripts/fleet.sh. */
@Command(name = "local-cluster", mixinStandardHelpOptions = true,
    description = "Join redis-server processes on this machine, started with --cluster-enabled yes, into one Redis Cluster: "
        + "the slots shared out evenly over the masters. For the local fleet; in production use redis-cli --cluster create.")
public final class LocalClusterCommand implements Callable<Integer> {

  @Option(names = "--ports", required = true, split = ",", description = "The masters' ports on 127.0.0.1, e.g. 7000,7001,7002.")
  List<Integer> ports;

  @Option(names = "--replica-ports", split = ",", description = "Ports of nodes that follow the masters in turn (none by default).")
  List<Integer> replicaPorts = List.of();

  @Option(names = "--timeout-ms", defaultValue = "30000", description = "How long the Cluster may take to come together (default: ${DEFAULT-VALUE}).")
  long timeoutMs;

  @Override
  public Integer call() {
    try {
      LocalCluster.form(ports, replicaPorts, timeoutMs);
    } catch (Exception e) {
      System.err.println("local-cluster: " + e.getMessage());
      return 1;
    }
    System.out.println(ports.stream().map(port -> "redis://127.0.0.1:" + port).collect(Collectors.joining(",")));
    return 0;
  }
}
