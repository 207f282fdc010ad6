package io.sluice.platform;

import io.netty.buffer.ByteBuf;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The internal API Sluice uses, against the Vert.x in use: an upgrade that moves any of it fails here, by name. */
class VertxInternalsTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aContextHasItsNettyEventLoop() throws Exception {
    CompletableFuture<Boolean> inLoop = new CompletableFuture<>();
    Context context = vertx.getOrCreateContext();
    context.runOnContext(go -> inLoop.complete(VertxInternals.eventLoop(context).inEventLoop()));
    assertEquals(true, inLoop.get(5, TimeUnit.SECONDS), "the loop the context runs on");
  }

  @Test
  void aServerConnectionHasItsChannel() throws Exception {
    CompletableFuture<Object> channel = new CompletableFuture<>();
    HttpServer server = vertx.createHttpServer().connectionHandler(connection -> channel.complete(VertxInternals.channelOf(connection)))
        .requestHandler(request -> request.response().end());
    server.listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
    vertx.createHttpClient().request(io.vertx.core.http.HttpMethod.GET, server.actualPort(), "127.0.0.1", "/")
        .compose(request -> request.send()).await(5, TimeUnit.SECONDS);
    assertNotNull(channel.get(5, TimeUnit.SECONDS));
  }

  @Test
  void aSocketReadsAndWritesNettyBuffers() throws Exception {
    CompletableFuture<String> received = new CompletableFuture<>();
    NetServer server = vertx.createNetServer().connectHandler(socket -> VertxInternals.onMessages(socket, message -> {
      if (message instanceof ByteBuf data) {
        received.complete(data.toString(StandardCharsets.US_ASCII));
        data.release();
      }
    }));
    server.listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
    NetSocket client = vertx.createNetClient().connect(server.actualPort(), "127.0.0.1").await(5, TimeUnit.SECONDS);
    ByteBuf out = VertxInternals.allocator(client).buffer(4);
    out.writeCharSequence("PING", StandardCharsets.US_ASCII);
    VertxInternals.writeMessage(client, out).await(5, TimeUnit.SECONDS);
    assertEquals("PING", received.get(5, TimeUnit.SECONDS));
  }

  @Test
  void whatIsNotTheInternalClassIsRefusedByName() {
    assertThat(assertThrows(IllegalStateException.class, () -> VertxInternals.channelOf((HttpConnection) null)).getMessage())
        .contains("an HTTP server connection is a null").contains("must be adapted to this version");
  }
}
