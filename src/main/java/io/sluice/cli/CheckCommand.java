package io.sluice.cli;

import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
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

  @Option(names = "--cost", description = "Tokens to take, 0 or more (default: ${DEFAULT-VALUE}).", defaultValue = "1",
      converter = Values.NonNegative.class)
  int cost;

  @Option(names = "--tier", description = "The user's plan: a tier of the limits in force, whose overrides decide (default: the plan stored for the user, else none).",
      defaultValue = "")
  String tier;

  @Option(names = "--acquire", description = "Also take one of the rule's concurrency slots in the same call: prints lease_id=, "
      + "to give to `sluice release --lease-id`.")
  boolean acquire;

  @Override
  public Integer call() {
    return AdminCommands.run(target, client, client -> client.check(io.sluice.grpc.v1.CheckRequest.newBuilder()
        .setUserId(user).setAction(action).setCost(cost).setTier(tier).setAcquire(acquire).build()), CheckCommand::format);
  }

  /**
   * One line: the decision first, then every field as name=value, so that people and scripts can
   * read it. What shadow mode let through, a degraded answer and a ban say so on the same line.
   */
  static String format(CheckResponse response) {
    StringBuilder line = new StringBuilder()
        .append(response.getDecision())
        .append(" rule=").append(response.getRule())
        .append(response.getTier().isEmpty() ? "" : " tier=" + response.getTier())
        .append(response.getOverridden() ? " overridden=true" : "")
        .append(" limit=").append(response.getLimit())
        .append(" remaining=").append(response.getRemaining())
        .append(" retry_after_ms=").append(response.getRetryAfterMs())
        .append(" reset_after_ms=").append(response.getResetAfterMs());
    if (response.getQuotaLimit() > 0) {
      // Which of the two refused says itself only where there are two.
      line.append(" quota_limit=").append(response.getQuotaLimit()).append(" quota_remaining=").append(response.getQuotaRemaining())
          .append(" quota_reset_after_ms=").append(response.getQuotaResetAfterMs())
          .append(response.getLimitedBy().isEmpty() ? "" : " limited_by=" + response.getLimitedBy());
    }
    if (response.getMaxInFlight() > 0) {
      line.append(" lease_id=").append(response.getLeaseId()).append(" lease_ms=").append(response.getLeaseMs())
          .append(" in_flight=").append(response.getInFlight()).append('/').append(response.getMaxInFlight());
      if (response.getQuotaLimit() == 0 && !response.getLimitedBy().isEmpty()) {
        line.append(" limited_by=").append(response.getLimitedBy());
      }
    }
    if (response.getMaxViolations() > 0) {
      line.append(" violations=").append(response.getViolations()).append('/').append(response.getMaxViolations());
    }
    if (response.getShadow()) {
      line.append(" shadow=true shadow_decision=").append(response.getShadowDecision());
    }
    if (response.getDecision() == Decision.BAN || response.getShadowDecision() == Decision.BAN) {
      line.append(" ban_remaining_ms=").append(response.getBanRemainingMs())
          .append(" ban_level=").append(response.getBanLevel())
          .append(" ban_scope=").append(response.getBanScope())
          .append(" ban_reason=\"").append(response.getBanReason()).append('"');
    }
    if (response.getDegraded()) {
      line.append(" degraded=true degraded_reason=").append(response.getDegradedReason());
    }
    return line.toString();
  }
}
