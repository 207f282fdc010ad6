package io.sluice.grpc;

import io.sluice.support.Await;
import io.sluice.support.Http;
import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.health.v1.HealthCheckRequest;
import io.vertx.grpc.health.v1.HealthCheckResponse;
import io.vertx.grpc.reflection.v1.ServerReflectionRequest;
import io.vertx.grpc.reflection.v1.ServerReflectionResponse;
import io.vertx.grpc.reflection.v1.ServiceResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The standard gRPC services that tools expect: health (for probes and load balancers) and reflection (grpcurl). */
@ExtendWith(RedisExtension.class)
class StandardServicesTest {

  private static final ServiceMethod<HealthCheckResponse, HealthCheckRequest> HEALTH_CHECK = ServiceMethod.client(
      ServiceName.create("grpc.health.v1.Health"), "Check",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthCheckResponse.newBuilder()));
  private static final ServiceMethod<ServerReflectionResponse, ServerReflectionRequest> REFLECTION = reflection("v1");
  private static final ServiceMethod<ServerReflectionResponse, ServerReflectionRequest> REFLECTION_V1ALPHA = reflection("v1alpha");
  private static final ServiceMethod<HealthCheckResponse, HealthCheckRequest> HEALTH_WATCH = ServiceMethod.client(
      ServiceName.create("grpc.health.v1.Health"), "Watch",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthCheckResponse.newBuilder()));

  private static final String LIMITS = "{\"rules\":{\"default\":{\"capacity\":10,\"refillPerSecond\":1}}}";

  private static SluiceFixture sluice;
  private static Vertx vertx;
  private static GrpcClient client;
  private static SocketAddress target;

  @BeforeAll
  static void start(TestRedis redis) {
    sluice = SluiceFixture.start(redis.uri(), LIMITS);
    vertx = Vertx.vertx();
    client = GrpcClient.client(vertx);
    target = SocketAddress.inetSocketAddress(sluice.port(), "127.0.0.1");
  }

  @AfterAll
  static void stop() throws Exception {
    client.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
    sluice.close();
  }

  @Test
  void healthAnswersServingForTheServerAndTheRateLimiter() throws Exception {
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, health("").getStatus());
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, health("sluice.v1.RateLimiter").getStatus());
  }

  @Test
  void reflectionListsTheServicesUnderV1AndV1alpha() throws Exception {
    for (ServiceMethod<ServerReflectionResponse, ServerReflectionRequest> version : List.of(REFLECTION, REFLECTION_V1ALPHA)) {
      ServerReflectionResponse response = client.request(target, version)
          .compose(call -> call.end(ServerReflectionRequest.newBuilder().setListServices("").build())
              .compose(sent -> call.response()))
          .compose(response1 -> response1.last())
          .await(10, TimeUnit.SECONDS);
      assertThat(response.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName))
          .contains("sluice.v1.RateLimiter", "sluice.v1.Admin", "grpc.health.v1.Health");
    }
  }

  @Test
  void anUnknownServiceIsNotFound() {
    SluiceClient.CallFailedException failed = org.junit.jupiter.api.Assertions.assertThrows(SluiceClient.CallFailedException.class,
        () -> health(target, "no.such.Service"));
    assertEquals(GrpcStatus.NOT_FOUND, failed.status());
  }

  /**
   * gRPC health for the server and each service, /health/ready and sluice_ready say the same thing
   * in every state: Redis up; Redis down under the closed failure mode (not ready) and the local one
   * (ready: a shared Redis outage must not empty the load balancer); draining.
   */
  @Test
  void everyWayOfAskingGetsTheSameAnswerInEveryState() throws Exception {
    try (TestRedis own = TestRedis.startOwn();
         SluiceFixture closed = SluiceFixture.start(own.uri(), LIMITS, new JsonObject().put("failureMode", "closed").put("healthCheckMs", 50));
         SluiceFixture local = SluiceFixture.start(own.uri(), LIMITS, new JsonObject().put("healthCheckMs", 50))) {
      List<String> watched = new java.util.concurrent.CopyOnWriteArrayList<>();
      watch(closed, watched);
      assertAgree(closed, true);
      assertAgree(local, true);

      own.pause();
      Await.until("the closed instance to see redis gone", Duration.ofSeconds(10), () -> !closed.sluice().health().ready());
      assertAgree(closed, false);
      Await.until("the local instance to see redis gone", Duration.ofSeconds(10),
          () -> !local.sluice().health().toJson().getBoolean("redis"));
      assertAgree(local, true);
      Await.until("Watch to report NOT_SERVING", Duration.ofSeconds(10), () -> watched.contains("NOT_SERVING"));
      own.resume();
      Await.until("ready again", Duration.ofSeconds(10), () -> closed.sluice().health().ready());
      assertAgree(closed, true);

      local.sluice().health().startDraining();
      assertAgree(local, false);
    }
  }

  private static void assertAgree(SluiceFixture instance, boolean ready) throws Exception {
    SocketAddress at = SocketAddress.inetSocketAddress(instance.port(), "127.0.0.1");
    HealthCheckResponse.ServingStatus expected = ready ? HealthCheckResponse.ServingStatus.SERVING
        : HealthCheckResponse.ServingStatus.NOT_SERVING;
    for (String service : List.of("", "sluice.v1.RateLimiter", "sluice.v1.Admin", "grpc.health.v1.Health")) {
      assertEquals(expected, health(at, service).getStatus(), "gRPC health of '" + service + "'");
    }
    assertEquals(ready ? 200 : 503, Http.status(URI.create("http://127.0.0.1:" + instance.httpPort() + "/health/ready")));
    assertEquals(ready ? 1.0 : 0.0, Http.metric(instance.sluice().metrics().scrape(), "sluice_ready"));
  }

  private static void watch(SluiceFixture instance, List<String> statuses) {
    client.request(SocketAddress.inetSocketAddress(instance.port(), "127.0.0.1"), HEALTH_WATCH)
        .compose(call -> call.end(HealthCheckRequest.newBuilder().setService("").build()).compose(sent -> call.response()))
        .onSuccess(response -> response.handler(status -> statuses.add(status.getStatus().name())));
  }

  private static HealthCheckResponse health(String service) throws Exception {
    return health(target, service);
  }

  private static HealthCheckResponse health(SocketAddress at, String service) throws Exception {
    return client.request(at, HEALTH_CHECK)
        .compose(call -> call.end(HealthCheckRequest.newBuilder().setService(service).build()).compose(sent -> call.response()))
        .compose(response -> response.last().recover(failure -> response.status() != GrpcStatus.OK
            ? Future.failedFuture(new SluiceClient.CallFailedException(response.status(), String.valueOf(response.statusMessage())))
            : Future.failedFuture(failure)))
        .await(10, TimeUnit.SECONDS);
  }

  private static ServiceMethod<ServerReflectionResponse, ServerReflectionRequest> reflection(String version) {
    return ServiceMethod.client(ServiceName.create("grpc.reflection." + version + ".ServerReflection"), "ServerReflectionInfo",
        GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(ServerReflectionResponse.newBuilder()));
  }
}
