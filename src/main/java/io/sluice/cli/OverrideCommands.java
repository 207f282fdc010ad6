package io.sluice.cli;

import io.sluice.grpc.v1.SetOverrideRequest;
import io.sluice.grpc.v1.StoredOverride;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code sluice override set|get|clear}: a user's own numbers for one rule, until a time, through the gRPC admin service. */
@Command(name = "override", mixinStandardHelpOptions = true, description = "Give a user numbers of their own for one rule, until a time.",
    subcommands = {OverrideCommands.Set.class, OverrideCommands.Get.class, OverrideCommands.Clear.class})
public final class OverrideCommands implements Callable<Integer> {

  @Override
  public Integer call() {
    System.err.println("sluice override: name set, get or clear (sluice override --help)");
    return 2;
  }

  static String format(StoredOverride stored) {
    if (!stored.getExists()) {
      return "user=" + stored.getUserId() + " rule=" + stored.getRule() + " override=none";
    }
    double refill = stored.getRefillPerSecond();
    return "user=" + stored.getUserId() + " rule=" + stored.getRule() + " capacity=" + stored.getCapacity() + " refill_per_second="
        + (refill == Math.rint(refill) ? String.valueOf((long) refill) : String.valueOf(refill)) + " remaining_ms=" + stored.getRemainingMs();
  }

  @Command(name = "set", mixinStandardHelpOptions = true,
      description = "Give the user a capacity and refill of their own for the action's rule (which must be overridable), until a time.")
  public static final class Set implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", required = true, description = "The user.")
    String user;

    @Option(names = "--action", required = true, description = "The action whose rule is overridden.")
    String action;

    @Option(names = "--capacity", required = true, description = "The user's capacity.")
    long capacity;

    @Option(names = "--refill", required = true, description = "The user's refill per second.")
    double refill;

    @Option(names = "--until", defaultValue = "", description = "When it ends: an ISO-8601 instant with its offset (2026-12-11T18:00:00+01:00).")
    String until;

    @Option(names = "--seconds", defaultValue = "0", description = "Or: how many seconds from now it ends.")
    long seconds;

    @Override
    public Integer call() {
      if (until.isEmpty() == (seconds == 0)) {
        System.err.println("sluice override set: give exactly one of --until and --seconds");
        return 2;
      }
      return AdminCommands.run(target, client, client -> client.setOverride(SetOverrideRequest.newBuilder().setUserId(user).setAction(action)
          .setCapacity(capacity).setRefillPerSecond(refill).setUntil(until).setSeconds(seconds).build()), OverrideCommands::format);
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, description = "Show the user's override of the action's rule.")
  public static final class Get implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", required = true, description = "The user.")
    String user;

    @Option(names = "--action", required = true, description = "The action whose rule is overridden.")
    String action;

    @Override
    public Integer call() {
      return AdminCommands.run(target, client, client -> client.getOverride(user, action), OverrideCommands::format);
    }
  }

  @Command(name = "clear", mixinStandardHelpOptions = true, description = "End the user's override of the action's rule now.")
  public static final class Clear implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", required = true, description = "The user.")
    String user;

    @Option(names = "--action", required = true, description = "The action whose rule is overridden.")
    String action;

    @Override
    public Integer call() {
      return AdminCommands.run(target, client, client -> client.clearOverride(user, action), OverrideCommands::format);
    }
  }
}
