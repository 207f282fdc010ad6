package io.sluice.grpc;

import com.google.protobuf.Descriptors;
import io.vertx.core.Handler;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.reflection.ReflectionService;
import io.vertx.grpc.reflection.v1.ServerReflectionRequest;
import io.vertx.grpc.reflection.v1.ServerReflectionResponse;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.Service;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;

/**
 * Server reflection under {@code grpc.reflection.v1} and {@code v1alpha}, which older grpcurl and
 * Postman ask for. The two are the same messages on the wire; Vert.x serves v1 only and keeps its
 * handler to itself, so the handler it binds is caught on its way to the server and bound under
 * the v1alpha name as well.
 */
final class Reflection implements Service {

  static final ServiceMethod<ServerReflectionRequest, ServerReflectionResponse> V1ALPHA = ServiceMethod.server(
      ServiceName.create("grpc.reflection.v1alpha.ServerReflection"), "ServerReflectionInfo",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(ServerReflectionRequest.newBuilder()));

  private final ReflectionService v1 = ReflectionService.v1();

  @Override
  public ServiceName name() {
    return v1.name();
  }

  @Override
  public Descriptors.ServiceDescriptor descriptor() {
    return v1.descriptor();
  }

  @Override
  @SuppressWarnings({"unchecked", "rawtypes"})
  public void bind(GrpcServer server) {
    GrpcServer alsoV1alpha = (GrpcServer) Proxy.newProxyInstance(GrpcServer.class.getClassLoader(), new Class<?>[] {GrpcServer.class},
        (proxy, method, args) -> {
          if ("callHandler".equals(method.getName()) && args != null && args.length == 2 && args[0] instanceof ServiceMethod) {
            server.callHandler(V1ALPHA, (Handler) args[1]);
          }
          try {
            return method.invoke(server, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
    v1.bind(alsoV1alpha);
  }
}
