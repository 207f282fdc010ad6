package io.sluice.cli;

import io.sluice.grpc.v1.AcquireRequest;
import io.sluice.grpc.v1.AcquireResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code sluice acquire} and {@code sluice release}: a rule's concurrency leases from a shell. */
public final class LeaseCommands {

  private LeaseCommands() {
  }

  static String format(AcquireResponse lease) {
    StringBuilder line = new StringBuilder().append(lease.getDecision()).append(" rule=").append(lease.getRule())
        .append(lease.getTier().isEmpty() ? "" : " tier=" + lease.getTier());
    if (!lease.getLeaseId().isEmpty()) {
      line.append(" lease_id=").append(lease.getLeaseId()).append(" lease_ms=").append(lease.getLeaseMs());
    }
    line.append(" in_flight=").append(lease.getInFlight()).append('/').append(lease.getMaxInFlight());
    if (!lease.getLimitedBy().isEmpty()) {
      line.append(" limited_by=").append(lease.getLimitedBy());
    }
    if (lease.getRetryAfterMs() > 0) {
      line.append(" retry_after_ms=").append(lease.getRetryAfterMs());
    }
    if (lease.getShadow()) {
      line.append(" shadow=true");
    }
    if (lease.getDegraded()) {
      line.append(" degraded=true degraded_reason=").append(lease.getDegradedReason());
    }
    return line.toString();
  }

  @Command(name = "acquire", mixinStandardHelpOptions = true,
      description = "Take one of the user's slots of a rule's concurrency limit; prints the lease to release. Exit code 0 when answered.")
  public static final class Acquire implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--user", required = true, description = "The user id.")
    String user;

    @Option(names = "--action", required = true, description = "The action, whose rule has a concurrency limit.")
    String action;

    @Option(names = "--tier", defaultValue = "", description = "The user's plan: a tier of the limits in force (default: the plan stored for the user, else none).")
    String tier;

    @Override
    public Integer call() {
      return AdminCommands.run(target, client, client -> client.acquire(AcquireRequest.newBuilder().setUserId(user).setAction(action)
          .setTier(tier).build()), LeaseCommands::format);
    }
  }

  @Command(name = "release", mixinStandardHelpOptions = true, description = "End a lease that acquire granted.")
  public static final class Release implements Callable<Integer> {
    @Mixin
    InstanceTarget target;

    @Mixin
    ClientOptions client;

    @Option(names = "--lease-id", required = true, description = "The lease, as acquire printed it.")
    String leaseId;

    @Override
    public Integer call() {
      return AdminCommands.run(target, client, client -> client.release(leaseId),
          released -> released.getDegraded() ? "not released: Redis was unavailable (the lease ends at its expiry)"
              : released.getReleased() ? "released" : "not held (it ended, or was released before)");
    }
  }
}
