package io.sluice.cli;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.BanInfo;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** The {@code bans}, {@code ban} and {@code unban} subcommands: the gRPC admin service from a shell. */
public final class AdminCommands {

  private AdminCommands() {
  }

  /** How long one call may take before the command gives up. */
  private static final long WAIT_SECONDS = 10;

  /** Runs one call against the target, prints its result, and exits 0, or 1 with the server's message. */
  static <T> int run(InstanceTarget target, ClientOptions options, Function<SluiceClient, Future<T>> call, Function<T, String> format) {
    Vertx vertx = OneShot.vertx();
    try {
      T result = call.apply(new SluiceClient(vertx, target.address(), options.access()).calledBy("cli")).await(WAIT_SECONDS, TimeUnit.SECONDS);
      System.out.println(format.apply(result));
      return 0;
    } catch (Exception e) {
      System.err.println("failed: " + Failures.explain(e, target.target, options, WAIT_SECONDS));
      return 1;
    } finally {
      try {
        vertx.close().await(10, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // Nothing is left to clean up that the JVM's exit will not.
      }
    }
  }

  static String format(BanInfo ban) {
    return "user=" + ban.getUserId()
        + " action=" + (ban.getAction().isEmpty() ? "*" : ban.getAction())
        + " scope=" + ban.getScope()
        + " remaining_ms=" + ban.getRemainingMs()
        + " level=" + ban.getLevel()
        + " violations=" + ban.getViolations()
        + " reason=\"" + ban.getReason() + "\"";
  }

  @Command(name = "bans", mixinStandardHelpOptions = true, description = "List active bans (all users, or one).")
  public static final class List implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", defaultValue = "", description = "Only this user's bans.")
    String user;

    @Override
    public Integer call() {
      return run(target, client, client -> client.listBans(user), response -> response.getBansList().isEmpty()
          ? "no active bans"
          : String.join("\n", response.getBansList().stream().map(AdminCommands::format).toList()));
    }
  }

  @Command(name = "ban", mixinStandardHelpOptions = true, description = "Ban a user from one action, or from every action.")
  public static final class Ban implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", required = true, description = "The user to ban.")
    String user;

    @Option(names = "--action", defaultValue = "", description = "Only this action (default: every action).")
    String action;

    @Option(names = "--seconds", required = true, description = "How long, 1 second to 1 year.", converter = Values.BanSeconds.class)
    long seconds;

    @Option(names = "--reason", defaultValue = "", description = "Shown to operators and to the backend.")
    String reason;

    @Override
    public Integer call() {
      return run(target, client, client -> client.ban(user, action, seconds, reason), ban -> "banned " + format(ban));
    }
  }

  @Command(name = "unban", mixinStandardHelpOptions = true, description = "Lift a user's ban of one action, or all of the user's bans.")
  public static final class Unban implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", required = true, description = "The user to unban.")
    String user;

    @Option(names = "--action", defaultValue = "", description = "Only this action (default: every ban of the user).")
    String action;

    @Override
    public Integer call() {
      return run(target, client, client -> client.unban(user, action), response -> "lifted " + response.getRemoved() + " ban(s); "
          + response.getInstancesConfirmed() + " of " + response.getInstancesNotified() + " instance(s) confirmed they dropped it");
    }
  }

  @Command(name = "audit", mixinStandardHelpOptions = true,
      description = "The fleet's latest admin actions, newest first: when, who (the admin token's name), through which API, what, and its outcome.")
  public static final class Audit implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", defaultValue = "", description = "Only actions on this user (among the latest 1000).")
    String user;

    @Option(names = "--count", defaultValue = "20", description = "How many, 1 to 1000 (default: ${DEFAULT-VALUE}).")
    int count;

    @Override
    public Integer call() {
      return run(target, client, client -> client.listAudit(count, user), response -> response.getEntriesList().isEmpty()
          ? "no admin actions recorded"
          : String.join("\n", response.getEntriesList().stream().map(entry -> entry.getAt() + " " + entry.getActor() + " via=" + entry.getVia()
              + " " + entry.getAction() + " user=" + entry.getUserId() + (entry.getScope().isEmpty() ? "" : " scope=" + entry.getScope())
              + " " + entry.getOutcome() + (entry.getDetail().isEmpty() ? "" : " \"" + entry.getDetail() + "\"")).toList()));
    }
  }
}
