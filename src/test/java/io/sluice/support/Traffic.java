package io.sluice.support;

import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcStatus;

import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.Predicate;

/**
 * Concurrent callers against Sluice instances, as backends call it: each caller sends a check,
 * waits for the answer, optionally pauses, and sends the next, spread over the instances round
 * robin. Every answer is recorded with its times, so a test can count decisions, degraded answers
 * and errors, and look at latencies in any window.
 */
public final class Traffic {

  /** One answer: a response, or the error status the call failed with. */
  public record Answer(long sentNanos, long answeredNanos, int instance, CheckResponse response, GrpcStatus error) {

    public boolean allowed() {
      return response != null && response.getDecision() == Decision.ALLOW;
    }

    public boolean degraded() {
      return response != null && response.getDegraded();
    }

    public double latencyMs() {
      return (answeredNanos - sentNanos) / 1e6;
    }
  }

  /** What to run. */
  public record Plan(int callers, int checksPerCaller, long durationMs, long pauseMs, long timeoutMs) {

    /** {@code callers} callers sending {@code checksEach} checks each, back to back. */
    public static Plan burst(int callers, int checksEach) {
      return new Plan(callers, checksEach, Long.MAX_VALUE, 0, 0);
    }

    /** {@code callers} callers for {@code durationMs}, pausing {@code pauseMs} between checks. */
    public static Plan steady(int callers, long durationMs, long pauseMs) {
      return new Plan(callers, Integer.MAX_VALUE, durationMs, pauseMs, 0);
    }

    /** Each check with a gRPC deadline. */
    public Plan withTimeoutMs(long timeoutMs) {
      return new Plan(callers, checksPerCaller, durationMs, pauseMs, timeoutMs);
    }
  }

  private Traffic() {
  }

  /** Runs the plan and waits for every answer. */
  public static List<Answer> run(Vertx vertx, List<SluiceClient> targets, Plan plan, IntFunction<CheckRequest> requestOfCaller) {
    Queue<Answer> answers = new ConcurrentLinkedQueue<>();
    long stopAt = plan.durationMs() == Long.MAX_VALUE ? Long.MAX_VALUE : System.nanoTime() + plan.durationMs() * 1_000_000;
    List<Future<Void>> callers = new ArrayList<>();
    // One event loop for every caller, as one backend process has: no hand-offs between threads in what is measured.
    Context context = vertx.getOrCreateContext();
    for (int i = 0; i < plan.callers(); i++) {
      Promise<Void> done = Promise.promise();
      int caller = i;
      context.runOnContext(v -> next(vertx, targets, plan, requestOfCaller.apply(caller), caller % targets.size(), 0, stopAt,
          answers, done));
      callers.add(done.future());
    }
    try {
      Future.all(callers).await(Math.min(plan.durationMs(), 60_000) + 60_000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("callers did not finish", e);
    }
    return new ArrayList<>(answers);
  }

  private static void next(Vertx vertx, List<SluiceClient> targets, Plan plan, CheckRequest request, int instance, int sent,
                           long stopAt, Queue<Answer> answers, Promise<Void> done) {
    long now = System.nanoTime();
    if (sent >= plan.checksPerCaller() || now - stopAt >= 0) {
      done.complete();
      return;
    }
    SluiceClient client = targets.get(instance);
    Future<CheckResponse> call = plan.timeoutMs() > 0 ? client.check(request, plan.timeoutMs()) : client.check(request);
    call.onComplete(reply -> {
      GrpcStatus error = null;
      if (reply.failed()) {
        error = reply.cause() instanceof SluiceClient.CallFailedException failed ? failed.status() : GrpcStatus.UNKNOWN;
      }
      answers.add(new Answer(now, System.nanoTime(), instance, reply.succeeded() ? reply.result() : null, error));
      int nextInstance = (instance + 1) % targets.size();
      if (plan.pauseMs() > 0) {
        vertx.setTimer(plan.pauseMs(), t -> next(vertx, targets, plan, request, nextInstance, sent + 1, stopAt, answers, done));
      } else {
        next(vertx, targets, plan, request, nextInstance, sent + 1, stopAt, answers, done);
      }
    });
  }

  /** How many answers match. */
  public static long count(List<Answer> answers, Predicate<Answer> which) {
    return answers.stream().filter(which).count();
  }

  /** The largest latency of the answers that match, in ms. */
  public static double maxLatencyMs(List<Answer> answers, Predicate<Answer> which) {
    return answers.stream().filter(which).mapToDouble(Answer::latencyMs).max().orElse(0);
  }

  /** The span from the first check sent to the last answer, in seconds. */
  public static double spanSeconds(List<Answer> answers) {
    long first = answers.stream().mapToLong(Answer::sentNanos).min().orElse(0);
    long last = answers.stream().mapToLong(Answer::answeredNanos).max().orElse(0);
    return (last - first) / 1e9;
  }
}
