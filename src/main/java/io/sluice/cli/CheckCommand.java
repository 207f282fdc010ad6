package io.sluice.cli;

import io.sluice.grpc.v1.CheckResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code sluice check}: asks a running instance for one decision and prints it. */
@Command(name = "check", mixinStandardHelpOptions = true,
    description = "Ask a Sluice instance whether a user may perform an action now. Exit code 0 when answered.")
public final class CheckCommand implements Callable<Integer> {

  @Mixin
  InstanceTarget target;

  @Mixin
  ClientOptions client;

  @Option(names = "--user", required = true, description = "The user id.")
  String user;

  @Option(names = "--action", required = true, description = "The action, e.g. login.")
  String action;

  @Option(names = "--cost", description = "Tokens to take (default: ${DEFAULT-VALUE}).", defaultValue = "1")
  int cost;

  @Override
  public Integer call() {
    return AdminCommands.run(target, client, client -> client.check(user, action, cost), CheckCommand::format);
  }

  /** One line: the decision first, then every field as name=value, so that people and scripts can read it. */
  static String format(CheckResponse response) {
    return response.getDecision()
        + " rule=" + response.getRule()
        + " limit=" + response.getLimit()
        + " remaining=" + response.getRemaining()
        + " retry_after_ms=" + response.getRetryAfterMs()
        + " reset_after_ms=" + response.getResetAfterMs()
        + (response.getMaxViolations() > 0 ? " violations=" + response.getViolations() + "/" + response.getMaxViolations() : "")
        + (response.getDecision() == io.sluice.grpc.v1.Decision.BAN
            ? " ban_level=" + response.getBanLevel() + " ban_scope=" + response.getBanScope() + " ban_reason=\"" + response.getBanReason() + "\""
            : "")
        + (response.getDegraded() ? " degraded=true" : "");
  }
}
