package io.sluice.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code sluice report-latency}: what a backend tells Sluice of its latencies (RateLimiter/ReportLatency), for adaptive throttling. */
@Command(name = "report-latency", mixinStandardHelpOptions = true,
    description = "Report latencies a backend observed, for adaptive throttling; prints the throttle factor now in force.")
public final class ReportLatencyCommand implements Callable<Integer> {

  @Mixin
  InstanceTarget target;

  @Mixin
  ClientOptions client;

  @Option(names = "--action", defaultValue = "", description = "The action they belong to (default: the backend as a whole).")
  String action;

  @Option(names = "--latency-ms", required = true, split = ",",
      description = "Observed latencies in milliseconds, comma separated or repeated (1 to 10000 per call).")
  List<Double> latenciesMs;

  @Override
  public Integer call() {
    return AdminCommands.run(target, client, client -> client.reportLatency(action, latenciesMs),
        response -> "factor=" + response.getFactor());
  }
}
