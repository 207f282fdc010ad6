package io.sluice.cli;

import io.sluice.grpc.v1.CheckBatchRequest;
import io.sluice.grpc.v1.CheckBatchResponse;
import io.sluice.grpc.v1.CheckRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code sluice check-batch}: several checks decided together (RateLimiter/CheckBatch), as a backend asks for one request. */
@Command(name = "check-batch", mixinStandardHelpOptions = true,
    description = "Ask a Sluice instance for several checks at once (the user, the IP, the tenant...). Exit code 0 when answered.")
public final class CheckBatchCommand implements Callable<Integer> {

  @Mixin
  InstanceTarget target;

  @Mixin
  ClientOptions client;

  @Option(names = "--check", required = true, converter = CheckSpec.class,
      description = "One check: user:action[:cost]; repeat for several (1 to 100), answered in this order.")
  List<CheckRequest> checks;

  @Option(names = "--tier", defaultValue = "", description = "The plan of every check: a tier of the limits in force (default: the plan stored for each user, else none).")
  String tier;

  @Option(names = "--all-or-nothing", description = "Take tokens only when every check is allowed.")
  boolean allOrNothing;

  @Override
  public Integer call() {
    CheckBatchRequest request = CheckBatchRequest.newBuilder()
        .addAllChecks(checks.stream().map(check -> check.toBuilder().setTier(tier).build()).toList())
        .setAllOrNothing(allOrNothing).build();
    return AdminCommands.run(target, client, client -> client.checkBatch(request), CheckBatchCommand::format);
  }

  /** The batch's decision, then one line per check as {@code sluice check} prints it, and whether its tokens were given back. */
  static String format(CheckBatchResponse response) {
    StringBuilder lines = new StringBuilder(response.getDecision().name());
    response.getResultsList().forEach(result -> lines.append("\n  ").append(CheckCommand.format(result))
        .append(result.getGivenBack() ? " given_back=true" : ""));
    return lines.toString();
  }

  /** user:action[:cost]; a user id holding ':' is written with the action and cost after its last two. */
  static final class CheckSpec implements ITypeConverter<CheckRequest> {
    @Override
    public CheckRequest convert(String value) {
      String[] parts = value.split(":", -1);
      if (parts.length < 2) {
        throw new TypeConversionException("must be user:action[:cost], was '" + value + "'");
      }
      boolean withCost = parts.length >= 3 && parts[parts.length - 1].matches("-?\\d+");
      int actionAt = withCost ? parts.length - 2 : parts.length - 1;
      int cost = withCost ? new Values.NonNegative().convert(parts[parts.length - 1]) : 1;
      String user = String.join(":", java.util.Arrays.copyOfRange(parts, 0, actionAt));
      return CheckRequest.newBuilder().setUserId(user).setAction(parts[actionAt]).setCost(cost).build();
    }
  }
}
