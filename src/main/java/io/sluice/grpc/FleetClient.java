package io.sluice.grpc;

import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.common.GrpcStatus;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A client of several Sluice instances, as a backend holds one: client-side round robin (the
 * "simulated load balancer"), and a call that cannot reach one instance is tried on the next. An
 * answer of the service itself (a decision, or INVALID_ARGUMENT) is never retried elsewhere.
 */
public final class FleetClient {

  /** What an answered health call counts as in a load run: an allow, so that it compares with checks. */
  public static final CheckResponse HEALTH_ANSWERED = CheckResponse.newBuilder().setDecision(Decision.ALLOW).build();

  /** A decision, and which instance gave it. */
  public record Answer(CheckResponse response, int instance) {
  }

  private final List<SluiceClient> instances;
  private final AtomicInteger next = new AtomicInteger();

  public FleetClient(Vertx vertx, List<SocketAddress> targets) {
    this(vertx, targets, ClientAccess.PLAIN);
  }

  public FleetClient(Vertx vertx, List<SocketAddress> targets, ClientAccess access) {
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("targets must name at least one instance");
    }
    this.instances = targets.stream().map(target -> new SluiceClient(vertx, target, access)).toList();
  }

  public int size() {
    return instances.size();
  }

  public SluiceClient instance(int index) {
    return instances.get(index);
  }

  /** The server's health check on the next instance in turn, answered as an ALLOW: what any gRPC call costs, for comparison. */
  public Future<Answer> health() {
    int index = Math.floorMod(next.getAndIncrement(), instances.size());
    return instances.get(index).health().map(serving -> new Answer(HEALTH_ANSWERED, index));
  }

  public Future<Answer> check(String userId, String action, int cost) {
    int first = Math.floorMod(next.getAndIncrement(), instances.size());
    return check(userId, action, cost, first, instances.size());
  }

  private Future<Answer> check(String userId, String action, int cost, int index, int attemptsLeft) {
    return instances.get(index).check(userId, action, cost)
        .map(response -> new Answer(response, index))
        .recover(failure -> {
          boolean unreachable = !(failure instanceof SluiceClient.CallFailedException refused)
              || refused.status() == GrpcStatus.UNAVAILABLE;
          return unreachable && attemptsLeft > 1
              ? check(userId, action, cost, (index + 1) % instances.size(), attemptsLeft - 1)
              : Future.failedFuture(failure);
        });
  }

  public Future<Void> close() {
    return Future.all(instances.stream().map(SluiceClient::close).toList()).mapEmpty();
  }
}
