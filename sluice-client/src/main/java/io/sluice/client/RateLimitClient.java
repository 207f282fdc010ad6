package io.sluice.client;

import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.RateLimiterGrpcClient;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A backend's client of a Sluice fleet: checks spread round robin over the instances that pass their
 * gRPC health check, each check within a deadline (250 ms unless told otherwise), one that cannot
 * reach an instance (a connection that fails, {@code UNAVAILABLE}: a draining instance) tried on the
 * next while time is left, and when no decision comes in time, the {@link Unreachable} policy the
 * caller chose answers instead, counted. A decision of Sluice (ALLOW, DENY, BAN) or its refusal of
 * bad input is never retried elsewhere; nor is an instance's answer that it is too busy
 * ({@code RESOURCE_EXHAUSTED}: retrying would add to the load) or that Redis faulted
 * ({@code INTERNAL}): those go to the policy at once, and the instance stays in the rotation. A call
 * past its deadline is cancelled, its stream reset. Thread-safe; one per process.
 */
public final class RateLimitClient implements AutoCloseable {

  /**
   * {@code grpc.health.v1.Health/Check}, without a dependency on the gRPC health module (which
   * brings a gRPC server): the request for the whole server is an empty message, as {@code Empty}
   * is, and the response's field 1 (its serving status, an enum) reads as an {@code Int32Value}'s.
   */
  private static final ServiceMethod<com.google.protobuf.Int32Value, com.google.protobuf.Empty> HEALTH = ServiceMethod.client(
      ServiceName.create("grpc.health.v1.Health"), "Check", GrpcMessageEncoder.encoder(),
      GrpcMessageDecoder.decoder(com.google.protobuf.Int32Value.newBuilder()));
  /** grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING. */
  private static final int SERVING = 1;
  /** Less than this left of the deadline, a second instance is not tried: its answer could not come in time. */
  private static final long LEAST_FOR_A_RETRY_MS = 10;

  /** Bad input, as Sluice refused it (INVALID_ARGUMENT, the message naming the field): the caller's to fix, never retried. */
  public static final class InvalidCheckException extends IllegalArgumentException {
    InvalidCheckException(String message) {
      super(message);
    }
  }

  /** How to build one; {@link #build} checks what was given. */
  public static final class Builder {
    private final List<String> targets;
    private Vertx vertx;
    private Duration deadline = Duration.ofMillis(250);
    private Duration healthInterval = Duration.ofSeconds(2);
    private Unreachable unreachable = Unreachable.allow();
    private io.vertx.core.http.HttpClientOptions httpOptions = new io.vertx.core.http.HttpClientOptions();

    private Builder(List<String> targets) {
      this.targets = List.copyOf(targets);
    }

    /** The Vert.x instance to run on (a Vert.x application's own); without one the client makes and owns one. */
    public Builder vertx(Vertx vertx) {
      this.vertx = vertx;
      return this;
    }

    /** How long a check may take, over every instance tried; then the {@link Unreachable} policy answers. */
    public Builder deadline(Duration deadline) {
      this.deadline = deadline;
      return this;
    }

    public Builder healthInterval(Duration interval) {
      this.healthInterval = interval;
      return this;
    }

    public Builder whenUnreachable(Unreachable policy) {
      this.unreachable = policy;
      return this;
    }

    /** How to connect: TLS, a client certificate, trust ({@code setSsl(true)} and the rest of Vert.x's HTTP client options). */
    public Builder httpOptions(io.vertx.core.http.HttpClientOptions options) {
      this.httpOptions = options;
      return this;
    }

    public RateLimitClient build() {
      if (targets.isEmpty()) {
        throw new IllegalArgumentException("targets: name at least one Sluice instance as host:port");
      }
      if (deadline.toMillis() < 1 || healthInterval.toMillis() < 10) {
        throw new IllegalArgumentException("deadline must be at least 1 ms and healthInterval at least 10 ms, were " + deadline + " and "
            + healthInterval);
      }
      return new RateLimitClient(this);
    }
  }

  /** @param targets the instances, each {@code host:port} */
  public static Builder builder(List<String> targets) {
    return new Builder(targets);
  }

  private record Target(String name, SocketAddress address) {
  }

  private final Vertx vertx;
  private final boolean ownsVertx;
  private final GrpcClient grpc;
  private final List<Target> targets = new ArrayList<>();
  /** Per target: whether its last health check said it serves (all are presumed to until asked). */
  private final java.util.concurrent.atomic.AtomicIntegerArray healthy;
  private final long deadlineMs;
  private final Unreachable unreachable;
  private final AtomicInteger next = new AtomicInteger();
  private final AtomicLong unreachableAnswers = new AtomicLong();
  private final long healthTimer;

  private RateLimitClient(Builder builder) {
    // The targets first: a bad one refuses the build before a Vert.x instance (and its threads) exists.
    for (String target : builder.targets) {
      int colon = target.lastIndexOf(':');
      int port = colon <= 0 ? -1 : portOf(target.substring(colon + 1));
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("targets: '" + target + "' is not host:port");
      }
      String host = target.substring(0, colon).replace("[", "").replace("]", "");
      targets.add(new Target(target, SocketAddress.inetSocketAddress(port, host)));
    }
    this.deadlineMs = builder.deadline.toMillis();
    this.ownsVertx = builder.vertx == null;
    this.vertx = ownsVertx ? Vertx.vertx() : builder.vertx;
    // A connection that cannot be made within a second is no use to a check; the deadline cancels the call.
    io.vertx.core.http.HttpClientOptions http = new io.vertx.core.http.HttpClientOptions(builder.httpOptions)
        .setConnectTimeout((int) Math.min(builder.httpOptions.getConnectTimeout(), Math.max(1_000, deadlineMs)));
    this.grpc = GrpcClient.client(vertx, new io.vertx.grpc.client.GrpcClientOptions().setScheduleDeadlineAutomatically(true), http);
    this.healthy = new java.util.concurrent.atomic.AtomicIntegerArray(targets.size());
    for (int i = 0; i < targets.size(); i++) {
      healthy.set(i, 1);
    }
    this.unreachable = builder.unreachable;
    this.healthTimer = vertx.setPeriodic(builder.healthInterval.toMillis(), tick -> checkHealth(builder.healthInterval.toMillis()));
  }

  /** Whether {@code user} may do {@code action} now, at {@code cost} tokens (0 counts as 1). Never fails but for bad input. */
  public Future<Verdict> check(String user, String action, int cost) {
    CheckRequest request = CheckRequest.newBuilder().setUserId(user).setAction(action).setCost(cost).build();
    long deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(deadlineMs);
    List<Integer> order = order();
    return attempt(request, order, 0, deadlineNanos).recover(failure -> {
      if (failure instanceof InvalidCheckException) {
        return Future.failedFuture(failure);
      }
      unreachableAnswers.incrementAndGet();
      return Future.succeededFuture(unreachable.decide(user, action, Math.max(1, cost), System.nanoTime()));
    });
  }

  /**
   * The same, waiting for the verdict on this thread (a servlet's): at most the deadline, and never
   * on a Vert.x event loop, which must not wait.
   */
  public Verdict checkAndWait(String user, String action, int cost) {
    if (Context.isOnVertxThread()) {
      // A worker's tasks run one at a time too: the answer would queue behind this wait.
      throw new IllegalStateException("checkAndWait would block a Vert.x thread: use check() there");
    }
    try {
      return check(user, action, cost).toCompletionStage().toCompletableFuture().get(deadlineMs + 1_000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof InvalidCheckException invalid) {
        throw invalid;
      }
      throw new IllegalStateException(e.getCause());
    } catch (TimeoutException e) {
      unreachableAnswers.incrementAndGet();
      return unreachable.decide(user, action, Math.max(1, cost), System.nanoTime());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for sluice", e);
    }
  }

  /** Checks the {@link Unreachable} policy answered because no instance did in time, since this client was built. */
  public long unreachableAnswers() {
    return unreachableAnswers.get();
  }

  /** The healthy instances, starting at the next in turn among them, then the others (their health may be stale). */
  private List<Integer> order() {
    List<Integer> healthyOnes = new ArrayList<>();
    List<Integer> rest = new ArrayList<>();
    for (int i = 0; i < targets.size(); i++) {
      (healthy.get(i) == 1 ? healthyOnes : rest).add(i);
    }
    int turn = next.getAndIncrement();
    List<Integer> order = new ArrayList<>(targets.size());
    for (int i = 0; i < healthyOnes.size(); i++) {
      order.add(healthyOnes.get(Math.floorMod(turn + i, healthyOnes.size())));
    }
    order.addAll(rest);
    return order;
  }

  private static int portOf(String text) {
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private Future<Verdict> attempt(CheckRequest request, List<Integer> order, int tried, long deadlineNanos) {
    long leftMs = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
    if (tried == order.size() || (tried > 0 && leftMs < LEAST_FOR_A_RETRY_MS) || leftMs <= 0) {
      return Future.failedFuture(new TimeoutException("no sluice instance answered within " + deadlineMs + " ms"));
    }
    Target target = targets.get(order.get(tried));
    Future<CheckResponse> answer = grpc.request(target.address(), RateLimiterGrpcClient.Check)
        .compose(call -> {
          call.timeout(leftMs, TimeUnit.MILLISECONDS);
          return call.end(request).compose(sent -> call.response());
        })
        .compose(RateLimitClient::lastOrStatus)
        // The deadline holds even when the transport does not end the call (a peer that never answers).
        .timeout(leftMs, TimeUnit.MILLISECONDS);
    return answer.map(response -> Verdict.of(response, target.name())).recover(failure -> {
      if (failure instanceof InvalidCheckException || failure instanceof Answered) {
        return Future.failedFuture(failure);
      }
      healthy.set(order.get(tried), 0);
      return attempt(request, order, tried + 1, deadlineNanos);
    });
  }

  /** An instance answered with a status that another instance would answer too (busy, a Redis fault, its deadline spent). */
  private static final class Answered extends RuntimeException {
    Answered(GrpcStatus status, String message) {
      super(status + ": " + message, null, false, false);
    }
  }

  private static Future<CheckResponse> lastOrStatus(GrpcClientResponse<CheckRequest, CheckResponse> response) {
    return response.last().recover(failure -> {
      GrpcStatus status = response.status();
      if (status == GrpcStatus.INVALID_ARGUMENT) {
        return Future.failedFuture(new InvalidCheckException(response.statusMessage()));
      }
      if (status != null && status != GrpcStatus.OK && status != GrpcStatus.UNAVAILABLE) {
        return Future.failedFuture(new Answered(status, response.statusMessage()));
      }
      return Future.failedFuture(failure);
    });
  }

  private void checkHealth(long intervalMs) {
    for (int i = 0; i < targets.size(); i++) {
      int index = i;
      grpc.request(targets.get(i).address(), HEALTH)
          .compose(call -> {
            call.timeout(intervalMs, TimeUnit.MILLISECONDS);
            return call.end(com.google.protobuf.Empty.getDefaultInstance()).compose(sent -> call.response());
          })
          .compose(GrpcClientResponse::last)
          .timeout(intervalMs, TimeUnit.MILLISECONDS)
          .onComplete(done -> healthy.set(index,
              done.succeeded() && done.result().getValue() == SERVING ? 1 : 0));
    }
  }

  /** Stops the health checks and closes the connections (and the Vert.x instance the client made, if it made one). */
  public Future<Void> closeAsync() {
    vertx.cancelTimer(healthTimer);
    Future<Void> closed = grpc.close();
    return ownsVertx ? closed.eventually(vertx::close) : closed;
  }

  /** The same, waiting for it at most 10 s, unless on an event loop, which must not wait. */
  @Override
  public void close() {
    Future<Void> closed = closeAsync();
    if (!Context.isOnEventLoopThread()) {
      closed.toCompletionStage().toCompletableFuture().orTimeout(10, TimeUnit.SECONDS).exceptionally(failure -> null).join();
    }
  }
}
