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
 * second, and a final check that no user got more than its limit fleet-wide (exit 1 if one did,
 * or if the run decided nothing).
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
      return verdict(out, simulation);
    } catch (Exception e) {
      System.err.println("simulate: " + e.getMessage());
      return 1;
    } finally {
      fleet.close();
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  /**
   * Exit 0 only when the run decided something and no user got more than its limit. Degraded
   * answers (a failure mode's, while Redis was unavailable) are not decisions of the fleet: an
   * overage they caused is reported as theirs, and it fails the run too, since accuracy was not shown.
   */
  private static int verdict(PrintStream out, Simulation simulation) {
    Simulation.Tally total = simulation.total();
    long decided = total.allowed() + total.denied() + total.banned();
    if (decided + total.degraded() == 0) {
      System.err.printf(Locale.ROOT, "simulate: nothing was measured: no instance answered (%d calls failed)%n", total.failed());
      return 1;
    }
    if (decided == 0) {
      System.err.printf(Locale.ROOT, "simulate: nothing was decided: all %d answers were degraded (is Redis reachable from the fleet?)%n",
          total.degraded());
      return 1;
    }
    List<Simulation.Violation> violations = simulation.violations();
    List<Simulation.Violation> byFleet = violations.stream().filter(v -> !v.causedByDegradedAnswers()).toList();
    List<Simulation.Violation> byDegraded = violations.stream().filter(Simulation.Violation::causedByDegradedAnswers).toList();
    String degradedNote = total.degraded() == 0 ? ""
        : String.format(Locale.ROOT, "; %d answers were degraded (%d allowed) and are not counted as decisions", total.degraded(),
            total.degradedAllowed());
    if (violations.isEmpty()) {
      out.printf(Locale.ROOT, "accuracy: OK, no user was allowed more than its limit fleet-wide (%d user/action pairs checked)%s%n",
          simulation.pairsSeen(), degradedNote);
      return 0;
    }
    if (!byFleet.isEmpty()) {
      out.printf(Locale.ROOT, "accuracy: FAILED, the fleet decided to allow %d user/action pairs more than their limit:%n", byFleet.size());
      byFleet.forEach(v -> printViolation(out, v));
    }
    if (!byDegraded.isEmpty()) {
      out.printf(Locale.ROOT, "%s degraded answers (Redis unavailable) let %d user/action pairs exceed their limit; "
          + "the fleet's own decisions for them stayed within it:%n", byFleet.isEmpty() ? "accuracy: DEGRADED," : "also,", byDegraded.size());
      byDegraded.forEach(v -> printViolation(out, v));
    }
    return 1;
  }

  private static void printViolation(PrintStream out, Simulation.Violation v) {
    out.printf(Locale.ROOT, "  user=%s action=%s allowed=%d degraded_allowed=%d permitted=%d%n",
        v.user(), v.action(), v.allowed(), v.degradedAllowed(), v.permitted());
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
