package io.sluice.cli;

import io.sluice.grpc.v1.AdjustRequest;
import io.sluice.grpc.v1.AdjustResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code sluice adjust}: a settled cost from a shell. */
@Command(name = "adjust", mixinStandardHelpOptions = true,
    description = "Settle a cost after the work: take --delta tokens more (> 0) or give them back (< 0). Exit code 0 when answered.")
public final class AdjustCommand implements Callable<Integer> {
  @Mixin
  InstanceTarget target;

  @Mixin
  ClientOptions client;

  @Option(names = "--user", required = true, description = "The user id.")
  String user;

  @Option(names = "--action", required = true, description = "The action whose rule's bucket (and quota) is adjusted.")
  String action;

  @Option(names = "--delta", required = true, description = "Tokens: more to take (> 0) or to give back (< 0); not 0, at most 1000000000 either way.")
  long delta;

  @Option(names = "--adjustment-id", defaultValue = "", description = "1 to 128 bytes: a retry with the same id within 24 hours changes nothing (default: none, every call applies).")
  String adjustmentId;

  @Option(names = "--tier", defaultValue = "", description = "The user's plan: a tier of the limits in force (default: the plan stored for the user, else none).")
  String tier;

  @Override
  public Integer call() {
    return AdminCommands.run(target, client, client -> client.adjust(AdjustRequest.newBuilder().setUserId(user).setAction(action)
        .setDelta(delta).setAdjustmentId(adjustmentId).setTier(tier).build()), AdjustCommand::format);
  }

  static String format(AdjustResponse adjusted) {
    if (adjusted.getDegraded()) {
      return "not known to be applied: Redis did not answer (" + adjusted.getDegradedReason()
          + "); retry with the same --adjustment-id, which applies it at most once";
    }
    return (adjusted.getApplied() ? "applied" : "already applied") + " rule=" + adjusted.getRule()
        + (adjusted.getTier().isEmpty() ? "" : " tier=" + adjusted.getTier()) + (adjusted.getOverridden() ? " overridden=true" : "")
        + " remaining=" + adjusted.getRemaining() + (adjusted.getHasQuota() ? " quota_remaining=" + adjusted.getQuotaRemaining() : "");
  }
}
