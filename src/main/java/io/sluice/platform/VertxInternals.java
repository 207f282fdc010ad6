package io.sluice.platform;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.impl.HttpServerConnection;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;

/**
 * Every use Sluice makes of Vert.x's internal API, in one place. None is a promised API: they moved
 * between Vert.x 4 and 5. Each is used because no public one does the same (noted at each), and each
 * fails loudly, naming what Vert.x gave instead, rather than letting a check quietly go unguarded
 * or unbatched after an upgrade. {@code VertxInternalsTest} runs them against the Vert.x in use.
 */
public final class VertxInternals {

  private VertxInternals() {
  }

  /**
   * The Netty event loop of a Vert.x context: tasks run there after the current read, where
   * {@code runOnContext} would run them before the next one.
   */
  public static EventLoop eventLoop(Context context) {
    if (!(context instanceof ContextInternal internal)) {
      throw unsupported("a Vert.x context", context);
    }
    return internal.nettyEventLoop();
  }

  /** The Netty channel of a server connection: Vert.x has no public way to its pipeline. */
  public static ChannelHandlerContext channelOf(HttpConnection connection) {
    if (!(connection instanceof HttpServerConnection server)) {
      throw unsupported("an HTTP server connection", connection);
    }
    return server.channelHandlerContext();
  }

  /** Takes a socket's reads as Netty buffers, unread and uncopied: the RESP parser reads them in place. */
  public static void onMessages(NetSocket socket, Handler<Object> handler) {
    internal(socket).messageHandler(handler);
  }

  /** Writes a buffer the socket's allocator made, without the copy of {@code NetSocket.write}. */
  public static Future<Void> writeMessage(NetSocket socket, ByteBuf message) {
    return internal(socket).writeMessage(message);
  }

  /** The socket's buffer allocator (pooled, direct), for {@link #writeMessage}. */
  public static ByteBufAllocator allocator(NetSocket socket) {
    return internal(socket).channelHandlerContext().alloc();
  }

  private static NetSocketInternal internal(NetSocket socket) {
    if (!(socket instanceof NetSocketInternal internal)) {
      throw unsupported("a Vert.x socket", socket);
    }
    return internal;
  }

  private static IllegalStateException unsupported(String what, Object got) {
    return new IllegalStateException(what + " is a " + (got == null ? "null" : got.getClass().getName())
        + ", not the internal class this Vert.x had: Sluice reaches into Vert.x there (io.sluice.platform.VertxInternals)"
        + " and must be adapted to this version");
  }
}
