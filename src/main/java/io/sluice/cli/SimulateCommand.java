package io.sluice.cli;

import io.sluice.demo.Simulation;
import io.sluice.grpc.FleetClient;
import io.sluice.grpc.SluiceClient;
import io.sluice.limits.Limits;
import io.sluice.limits.LimitsParser;
import io.vertx.core.Vertx;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code sluice simulate}: a crowd of users and abusers through the fleet, a live summary every
 * second, and a final check that no user got more than its limit fleet-wide (exit 1 if one did).
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = "Simulate well-behaved users and abusers on several actions through every instance, show a live "
        + "summary each second, and check at the end that no user was allowed more than its limit fleet-wide.")
public final class SimulateCommand implements Callable<Integer> {

  private static final int BAR_WIDTH = 30;

  @Mixin
  FleetTargets targets;

  @Mixin
  ClientOptions client;

  @Option(names = "--users", defaultValue = "20", description = "Well-behaved users (default: ${DEFAULT-VALUE}).")
  int users;

  @Option(names = "--user-rate", defaultValue = "0.5", description = "Requests per second of each well-behaved user (default: ${DEFAULT-VALUE}).")
  double userRate;

  @Option(names = "--abusers", defaultValue = "3", description = "Abusive users (default: ${DEFAULT-VALUE}).")
  int abusers;

  @Option(names = "--abuser-rate", defaultValue = "25", description = "Requests per second of each abuser (default: ${DEFAULT-VALUE}).")
  double abuserRate;

  @Option(names = "--actions", defaultValue = "login,search,checkout", description = "Actions to exercise (default: ${DEFAULT-VALUE}).")
  String actions;

  @Option(names = "--seconds", defaultValue = "10", description = "How long to run (default: ${DEFAULT-VALUE}).")
  double seconds;

  @Override
  public Integer call() throws Exception {
    PrintStream out = System.out;
    if (users < 0 || abusers < 0 || users + abusers == 0 || !(userRate > 0) || !(abuserRate > 0) || !(seconds > 0)) {
      System.err.println("simulate: --users and --abusers must not both be 0; rates and --seconds must be > 0");
      return 2;
    }
    Vertx vertx = Vertx.vertx();
    FleetClient fleet = new FleetClient(vertx, targets.addresses(), client.access());
    try {
      // The limits the fleet enforces right now, so that the accuracy check uses the real rules.
      Limits limits;
      try {
        limits = LimitsParser.parse(fleet.instance(0).getLimits().await(10, TimeUnit.SECONDS).getDocumentJson(),
            "instance " + fleet.instance(0).target(), 0);
      } catch (SluiceClient.CallFailedException e) {
        System.err.println("simulate: cannot read the limits in force (" + e.getMessage() + "); they come from the Admin service, "
            + "which needs the admin token: --token-file run/admin-token (scripts/fleet.sh writes it) or SLUICE_ADMIN_TOKEN");
        return 1;
      }
      List<String> actionList = List.of(actions.split(","));
      String runId = "sim-" + UUID.randomUUID().toString().substring(0, 8);
      Simulation simulation = new Simulation(vertx, fleet, limits, new Simulation.Plan(runId, users, userRate, abusers,
          abuserRate, actionList, (long) (seconds * 1000)));
      out.printf(Locale.ROOT, "simulating %d users (%.2f/s each) and %d abusers (%.1f/s each) on %s through %s for %.0f s (users %s-*)%n",
          users, userRate, abusers, abuserRate, actionList, targets, seconds, runId);
      long summaryTimer = vertx.setPeriodic(1000, timer -> summary(out, simulation, false));
      simulation.run().await((long) (seconds * 1000) + 30_000, TimeUnit.MILLISECONDS);
      vertx.cancelTimer(summaryTimer);
      summary(out, simulation, true);
      List<Simulation.Violation> violations = simulation.violations();
      if (violations.isEmpty()) {
        out.printf(Locale.ROOT, "accuracy: OK, no user was allowed more than its limit fleet-wide (%d user/action pairs checked)%n",
            simulation.pairsSeen());
        return 0;
      }
      out.printf(Locale.ROOT, "accuracy: FAILED, %d user/action pairs were allowed more than their limit:%n", violations.size());
      violations.forEach(v -> out.printf(Locale.ROOT, "  user=%s action=%s allowed=%d permitted=%d%n",
          v.user(), v.action(), v.allowed(), v.permitted()));
      return 1;
    } catch (Exception e) {
      System.err.println("simulate: " + e.getMessage());
      return 1;
    } finally {
      fleet.close();
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  private void summary(PrintStream out, Simulation simulation, boolean last) {
    double elapsed = Math.min(seconds, simulation.elapsedSeconds());
    int filled = (int) Math.round(BAR_WIDTH * elapsed / seconds);
    StringBuilder block = new StringBuilder();
    block.append(String.format(Locale.ROOT, "%s [%s%s] %4.1f/%.0f s%n", last ? "final" : "     ",
        "#".repeat(filled), ".".repeat(BAR_WIDTH - filled), elapsed, seconds));
    for (Map.Entry<String, Simulation.Tally> action : simulation.byAction().entrySet()) {
      block.append(String.format(Locale.ROOT, "  %-12s %s%n", action.getKey(), action.getValue()));
    }
    List<Simulation.Tally> instances = simulation.byInstance();
    for (int i = 0; i < instances.size(); i++) {
      block.append(String.format(Locale.ROOT, "  %-12s %s%n", "instance " + (i + 1), instances.get(i)));
    }
    out.print(block);
    out.flush();
  }
}
