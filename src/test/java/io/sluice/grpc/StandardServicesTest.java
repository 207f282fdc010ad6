package io.sluice.grpc;

import io.sluice.support.RedisExtension;
import io.sluice.support.SluiceFixture;
import io.sluice.support.TestRedis;
import io.vertx.core.Vertx;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
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

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The standard gRPC services that tools expect: health (for probes and load balancers) and reflection (grpcurl). */
@ExtendWith(RedisExtension.class)
class StandardServicesTest {

  private static final ServiceMethod<HealthCheckResponse, HealthCheckRequest> HEALTH_CHECK = ServiceMethod.client(
      ServiceName.create("grpc.health.v1.Health"), "Check",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthCheckResponse.newBuilder()));
  private static final ServiceMethod<ServerReflectionResponse, ServerReflectionRequest> REFLECTION = ServiceMethod.client(
      ServiceName.create("grpc.reflection.v1.ServerReflection"), "ServerReflectionInfo",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(ServerReflectionResponse.newBuilder()));

  private static SluiceFixture sluice;
  private static Vertx vertx;
  private static GrpcClient client;
  private static SocketAddress target;

  @BeforeAll
  static void start(TestRedis redis) {
    sluice = SluiceFixture.start(redis.uri(), "{\"rules\":{\"default\":{\"capacity\":10,\"refillPerSecond\":1}}}");
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
  void reflectionListsTheServices() throws Exception {
    ServerReflectionResponse response = client.request(target, REFLECTION)
        .compose(call -> call.end(ServerReflectionRequest.newBuilder().setListServices("").build())
            .compose(sent -> call.response()))
        .compose(response1 -> response1.last())
        .await(10, TimeUnit.SECONDS);
    assertThat(response.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName))
        .contains("sluice.v1.RateLimiter", "sluice.v1.Admin", "grpc.health.v1.Health");
  }

  private static HealthCheckResponse health(String service) throws Exception {
    return client.request(target, HEALTH_CHECK)
        .compose(call -> call.end(HealthCheckRequest.newBuilder().setService(service).build()).compose(sent -> call.response()))
        .compose(response -> response.last())
        .await(10, TimeUnit.SECONDS);
  }
}
