package io.sluice.client;

import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.Decision;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * What the client makes of instances that answer without a decision, against gRPC servers of the
 * test's own that answer as it tells them: an instance that is too busy or whose Redis faulted is
 * not asked again elsewhere (the next would answer the same, and the retry adds load), one that
 * refuses as it drains is; a call that goes unanswered is answered by the policy.
 */
class RateLimitClientTest {

  private static final ServiceMethod<CheckRequest, CheckResponse> CHECK = ServiceMethod.server(ServiceName.create("sluice.v1.RateLimiter"),
      "Check", GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(CheckRequest.newBuilder()));

  @Test
  void busyOrFaultedInstancesAreNotRetriedElsewhereADrainingOneIs() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      AtomicInteger asked = new AtomicInteger();
      HttpServer allowing = serve(vertx, call -> call.handler(request -> {
        asked.incrementAndGet();
        call.response().end(CheckResponse.newBuilder().setDecision(Decision.ALLOW).setRule("login").build());
      }));
      for (GrpcStatus status : List.of(GrpcStatus.RESOURCE_EXHAUSTED, GrpcStatus.INTERNAL)) {
        HttpServer answering = serve(vertx, call -> call.handler(request -> call.response().status(status).end()));
        try (RateLimitClient client = client(vertx, answering, allowing)) {
          // The round robin starts at the first target for the first check.
          Verdict verdict = client.checkAndWait("alice", "login", 1);
          assertThat(verdict.answeredBySluice()).as(status.name()).isFalse();
          assertEquals(Decision.DENY, verdict.decision(), "the caller's policy answered");
          assertEquals(0, asked.get(), status + " is not asked of another instance");
          assertEquals(1, client.unreachableAnswers());
        }
        answering.close().await();
      }
      HttpServer draining = serve(vertx, call -> call.handler(request -> call.response().status(GrpcStatus.UNAVAILABLE).end()));
      try (RateLimitClient client = client(vertx, draining, allowing)) {
        Verdict verdict = client.checkAndWait("alice", "login", 1);
        assertThat(verdict.answeredBySluice()).isTrue();
        assertEquals(1, asked.get(), "UNAVAILABLE (a draining instance) is asked of the next");
      }
      HttpServer refusing = serve(vertx, call -> call.handler(request -> call.response().status(GrpcStatus.INVALID_ARGUMENT)
          .statusMessage("user_id must be 1 to 256 bytes").end()));
      try (RateLimitClient client = client(vertx, refusing, allowing)) {
        RateLimitClient.InvalidCheckException invalid = assertThrows(RateLimitClient.InvalidCheckException.class,
            () -> client.checkAndWait("", "login", 1));
        assertThat(invalid.getMessage()).contains("user_id");
        assertEquals(1, asked.get(), "bad input is the caller's, never retried");
      }
    } finally {
      vertx.close().await();
    }
  }

  @Test
  void aCallThatGoesUnansweredIsAnsweredByThePolicy() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      HttpServer silent = serve(vertx, call -> call.handler(request -> {
        // Never answered.
      }));
      try (RateLimitClient client = RateLimitClient.builder(List.of("127.0.0.1:" + silent.actualPort())).vertx(vertx)
          .deadline(Duration.ofMillis(200)).whenUnreachable(Unreachable.allow()).build()) {
        Verdict verdict = client.checkAndWait("alice", "login", 1);
        assertThat(verdict.answeredBySluice()).isFalse();
        assertEquals(Decision.ALLOW, verdict.decision());
        assertEquals(1, client.unreachableAnswers());
      }
    } finally {
      vertx.close().await();
    }
  }

  private static HttpServer serve(Vertx vertx, Consumer<GrpcServerRequest<CheckRequest, CheckResponse>> check) {
    GrpcServer grpc = GrpcServer.server(vertx);
    grpc.callHandler(CHECK, check::accept);
    return vertx.createHttpServer().requestHandler(grpc).listen(0, "127.0.0.1").await();
  }

  private static RateLimitClient client(Vertx vertx, HttpServer first, HttpServer second) {
    return RateLimitClient.builder(List.of("127.0.0.1:" + first.actualPort(), "127.0.0.1:" + second.actualPort())).vertx(vertx)
        .healthInterval(Duration.ofMinutes(10)).whenUnreachable(Unreachable.deny(Duration.ofSeconds(1))).build();
  }
}
