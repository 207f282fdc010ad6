package io.sluice.cli;

import io.sluice.grpc.v1.StoredTier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code sluice tier set|get|clear}: the plans stored for users, through the gRPC admin service. */
@Command(name = "tier", mixinStandardHelpOptions = true, description = "Store, show or remove the plan (tier) of a user.",
    subcommands = {TierCommands.Set.class, TierCommands.Get.class, TierCommands.Clear.class})
public final class TierCommands implements Callable<Integer> {

  @Override
  public Integer call() {
    System.err.println("sluice tier: name set, get or clear (sluice tier --help)");
    return 2;
  }

  static String format(StoredTier stored) {
    if (stored.getTier().isEmpty()) {
      return "user=" + stored.getUserId() + " tier=none";
    }
    return "user=" + stored.getUserId() + " tier=" + stored.getTier()
        + (stored.getInForce() ? "" : " (not a tier of the limits in force: the rules decide)");
  }

  @Command(name = "set", mixinStandardHelpOptions = true,
      description = "Store the user's plan: it decides every check of the user that names no tier.")
  public static final class Set implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", required = true, description = "The user.")
    String user;

    @Option(names = "--tier", required = true, description = "A tier of the limits in force.")
    String tier;

    @Override
    public Integer call() {
      if (tier.isEmpty()) {
        System.err.println("sluice tier set: --tier must name a tier (sluice tier clear removes one)");
        return 2;
      }
      return AdminCommands.run(target, client, client -> client.setTier(user, tier), TierCommands::format);
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, description = "Show the plan stored for the user.")
  public static final class Get implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", required = true, description = "The user.")
    String user;

    @Override
    public Integer call() {
      return AdminCommands.run(target, client, client -> client.getTier(user), TierCommands::format);
    }
  }

  @Command(name = "clear", mixinStandardHelpOptions = true,
      description = "Remove the plan stored for the user: the rules decide again (or a request's tier).")
  public static final class Clear implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", required = true, description = "The user.")
    String user;

    @Override
    public Integer call() {
      return AdminCommands.run(target, client, client -> client.setTier(user, ""), TierCommands::format);
    }
  }
}
