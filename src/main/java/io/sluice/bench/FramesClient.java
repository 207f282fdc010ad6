package io.sluice.bench;

import io.netty.util.collection.IntObjectHashMap;
import io.sluice.grpc.FleetClient;
import io.sluice.grpc.SluiceClient;
import io.sluice.grpc.v1.CheckRequest;
import io.sluice.grpc.v1.CheckResponse;
import io.sluice.grpc.v1.RateLimiterGrpcClient;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;


import static io.sluice.grpc.Http2Wire.*;
import java.util.ArrayDeque;

/**
 * The load generator's lean client, as h2load is one: gRPC calls over one plain HTTP/2 connection,
 * written as frames whose headers were encoded once, read back without building header maps. A
 * full gRPC client costs about as much CPU per call as the instance answering it; on a machine
 * whose cores the load generator shares with the instance and Redis, that cost is taken from them.
 * It speaks only what a load generator needs: unary calls, plain text, no retries, and of the
 * server's headers only {@code grpc-status} and {@code grpc-message} (it asks for no HPACK dynamic
 * table, and Netty does not Huffman-code short values). Its state lives on the event loop it
 * connected on; a call made from another thread is handed there. Long because it writes and reads
 * HTTP/2 frames itself (settings, flow control, headers, data, resets): what makes it light.
 */
final class FramesClient {

  /** What the server may send before we say "more": large, so that it never waits for us. */
  private static final int RECEIVE_WINDOW = 1 << 30;

  private final Context context;
  private final NetSocket socket;
  private final byte[] checkHeaders;
  private final byte[] healthHeaders;
  private final FleetClient.Answer healthAnswered;
  private final int instance;
  private final IntObjectHashMap<Call> calls = new IntObjectHashMap<>();
  /** Calls waiting for the server: for room in its connection window, or for one of its streams. */
  private final ArrayDeque<Call> waiting = new ArrayDeque<>();
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS; a stream over it would be refused. */
  private long maxStreams = Long.MAX_VALUE;
  private int nextStreamId = 1;
  private long sendWindow = 65_535;
  private long receivedSinceUpdate;
  private Buffer partialFrame;
  private Throwable closedBy;
  /** Until the server's first settings arrive: whoever waits for the connection. */
  private Promise<FramesClient> settingsRead;

  private static final class Call {
    final Promise<FleetClient.Answer> answer = Promise.promise();
    final byte[] headerBlock;
    final byte[] request;
    final boolean health;
    Buffer message;
    GrpcStatus status;
    String statusMessage = "";

    Call(byte[] headerBlock, byte[] request, boolean health) {
      this.headerBlock = headerBlock;
      this.request = request;
      this.health = health;
    }
  }

  private FramesClient(Context context, NetSocket socket, String authority, int instance) {
    this.context = context;
    this.socket = socket;
    this.instance = instance;
    this.healthAnswered = new FleetClient.Answer(FleetClient.HEALTH_ANSWERED, instance);
    this.checkHeaders = requestHeaders(path(RateLimiterGrpcClient.Check), authority).getBytes();
    this.healthHeaders = requestHeaders(path(SluiceClient.HEALTH_CHECK), authority).getBytes();
  }

  /** Connects on {@code context}'s event loop, where its calls then run; answers name {@code instance}. */
  static Future<FramesClient> connect(Vertx vertx, Context context, SocketAddress target, int instance) {
    Promise<FramesClient> connected = Promise.promise();
    context.runOnContext(start -> {
      NetClient net = vertx.createNetClient();
      net.connect(target).onComplete(attempt -> {
        if (attempt.failed()) {
          net.close();
          connected.fail(attempt.cause());
          return;
        }
        FramesClient client = new FramesClient(context, attempt.result(), target.host() + ":" + target.port(), instance);
        client.start(net, connected);
      });
    });
    return connected.future();
  }

  /**
   * Connected once the server's settings are read: calls sent before would not know its limit on
   * streams, and it refuses those past it unread.
   */
  private void start(NetClient net, Promise<FramesClient> connected) {
    settingsRead = connected;
    socket.handler(this::onBytes);
    socket.closeHandler(closed -> {
      failAll(new IllegalStateException("the connection closed"));
      net.close();
    });
    Buffer hello = Buffer.buffer(64).appendBytes(PREFACE);
    // SETTINGS: HEADER_TABLE_SIZE 0 (no dynamic table, so the server's headers can be read without
    // one), INITIAL_WINDOW_SIZE as large as allowed for each stream; then the connection's window.
    frameHeader(hello, 12, SETTINGS, 0, 0);
    hello.appendShort((short) 1).appendInt(0);
    hello.appendShort((short) 4).appendInt(Integer.MAX_VALUE);
    frameHeader(hello, 4, WINDOW_UPDATE, 0, 0);
    hello.appendInt(RECEIVE_WINDOW - 65_535);
    socket.write(hello);
  }

  Future<FleetClient.Answer> check(String userId, String action, int cost) {
    byte[] request = CheckRequest.newBuilder().setUserId(userId).setAction(action).setCost(cost).build().toByteArray();
    return call(new Call(checkHeaders, request, false));
  }

  Future<FleetClient.Answer> health() {
    return call(new Call(healthHeaders, new byte[0], true));
  }

  Future<Void> close() {
    return socket.close();
  }

  private Future<FleetClient.Answer> call(Call call) {
    if (Vertx.currentContext() == context) {
      send(call);
    } else {
      context.runOnContext(hop -> send(call));
    }
    return call.answer.future();
  }

  private void send(Call call) {
    if (closedBy != null) {
      call.answer.fail(closedBy);
      return;
    }
    if (!waiting.isEmpty() || !mayWrite(call)) {
      waiting.add(call);
    } else {
      write(call);
    }
  }

  private boolean mayWrite(Call call) {
    return sendWindow >= 5 + call.request.length && calls.size() < maxStreams;
  }

  private void writeWaiting() {
    while (!waiting.isEmpty() && mayWrite(waiting.peek())) {
      write(waiting.poll());
    }
  }

  private void write(Call call) {
    int dataLength = 5 + call.request.length;
    if (nextStreamId < 0) {
      call.answer.fail(new IllegalStateException("stream ids used up on this connection"));
      return;
    }
    int streamId = nextStreamId;
    nextStreamId += 2;
    sendWindow -= dataLength;
    calls.put(streamId, call);
    Buffer frames = Buffer.buffer(9 + call.headerBlock.length + 9 + dataLength);
    frameHeader(frames, call.headerBlock.length, HEADERS, END_HEADERS, streamId);
    frames.appendBytes(call.headerBlock);
    frameHeader(frames, dataLength, DATA, END_STREAM, streamId);
    frames.appendByte((byte) 0).appendInt(call.request.length).appendBytes(call.request);
    socket.write(frames);
  }

  private void onBytes(Buffer bytes) {
    Buffer buffer = partialFrame == null ? bytes : partialFrame.appendBuffer(bytes);
    int at = 0;
    while (buffer.length() - at >= 9) {
      int length = buffer.getUnsignedMedium(at);
      if (buffer.length() - at - 9 < length) {
        break;
      }
      onFrame(buffer.getUnsignedByte(at + 3), buffer.getUnsignedByte(at + 4), buffer.getInt(at + 5) & 0x7fffffff,
          buffer, at + 9, length);
      at += 9 + length;
    }
    partialFrame = at == buffer.length() ? null : buffer.getBuffer(at, buffer.length());
  }

  private void onFrame(int type, int flags, int streamId, Buffer buffer, int at, int length) {
    switch (type) {
      case DATA -> {
        receivedSinceUpdate += length;
        if (receivedSinceUpdate > RECEIVE_WINDOW / 2) {
          Buffer update = Buffer.buffer(13);
          frameHeader(update, 4, WINDOW_UPDATE, 0, 0);
          socket.write(update.appendInt((int) receivedSinceUpdate));
          receivedSinceUpdate = 0;
        }
        Call call = calls.get(streamId);
        if (call != null) {
          int from = (flags & PADDED) == 0 ? at : at + 1;
          int to = (flags & PADDED) == 0 ? at + length : at + length - buffer.getUnsignedByte(at);
          Buffer payload = buffer.getBuffer(from, to);
          call.message = call.message == null ? payload : call.message.appendBuffer(payload);
          if ((flags & END_STREAM) != 0) {
            finish(streamId, call);
          }
        }
      }
      case HEADERS -> {
        Call call = calls.get(streamId);
        if (call != null) {
          readStatus(buffer, at, length, flags, call);
          if ((flags & END_STREAM) != 0) {
            finish(streamId, call);
          }
        }
      }
      case RST_STREAM -> {
        Call call = calls.remove(streamId);
        if (call != null) {
          call.answer.fail(new SluiceClient.CallFailedException(GrpcStatus.UNAVAILABLE,
              "stream reset by the server, HTTP/2 error " + buffer.getInt(at)));
          writeWaiting();
        }
      }
      case SETTINGS -> {
        if ((flags & ACK) == 0) {
          for (int setting = at; setting + 6 <= at + length; setting += 6) {
            if (buffer.getUnsignedShort(setting) == 3) {
              maxStreams = buffer.getUnsignedInt(setting + 2);
            }
          }
          Buffer ack = Buffer.buffer(9);
          frameHeader(ack, 0, SETTINGS, ACK, 0);
          socket.write(ack);
          if (settingsRead != null) {
            settingsRead.complete(this);
            settingsRead = null;
          }
        }
      }
      case PING -> {
        if ((flags & ACK) == 0) {
          Buffer pong = Buffer.buffer(17);
          frameHeader(pong, 8, PING, ACK, 0);
          socket.write(pong.appendBuffer(buffer, at, 8));
        }
      }
      case WINDOW_UPDATE -> {
        if (streamId == 0) {
          sendWindow += buffer.getInt(at) & 0x7fffffff;
          writeWaiting();
        }
      }
      case GOAWAY -> {
        failAll(new SluiceClient.CallFailedException(GrpcStatus.UNAVAILABLE,
            "the server is going away, HTTP/2 error " + buffer.getInt(at + 4)));
        socket.close();
      }
      default -> {
        // PRIORITY, PUSH_PROMISE (never enabled), CONTINUATION of headers too long to matter here.
      }
    }
  }

  private void finish(int streamId, Call call) {
    calls.remove(streamId);
    writeWaiting();
    if (call.status != null && call.status != GrpcStatus.OK) {
      call.answer.fail(new SluiceClient.CallFailedException(call.status, call.statusMessage));
    } else if (call.health) {
      call.answer.complete(healthAnswered);
    } else if (call.message == null || call.message.length() < 5) {
      call.answer.fail(new SluiceClient.CallFailedException(GrpcStatus.UNKNOWN, "the stream ended without a message"));
    } else {
      try {
        call.answer.complete(new FleetClient.Answer(CheckResponse.parseFrom(call.message.getBytes(5, call.message.length())), instance));
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        call.answer.fail(e);
      }
    }
  }

  /**
   * Finds {@code grpc-status} and {@code grpc-message} in a header block. With no dynamic table
   * every field is a static-table reference or a literal; a literal whose name or value is
   * Huffman-coded is skipped (its length is still known), which only loses a status text.
   */
  private static void readStatus(Buffer block, int at, int length, int flags, Call call) {
    int end = at + length;
    if ((flags & PADDED) != 0) {
      end -= block.getUnsignedByte(at);
      at++;
    }
    if ((flags & PRIORITY) != 0) {
      at += 5;
    }
    int[] cursor = {at};
    while (cursor[0] < end) {
      int first = block.getUnsignedByte(cursor[0]);
      if ((first & 0x80) != 0) {
        readInteger(block, cursor, 7);
        continue;
      }
      if ((first & 0xe0) == 0x20) {
        readInteger(block, cursor, 5);
        continue;
      }
      int nameIndex = readInteger(block, cursor, (first & 0x40) != 0 ? 6 : 4);
      String name = nameIndex == 0 ? readString(block, cursor) : null;
      String value = readString(block, cursor);
      if ("grpc-status".equals(name) && value != null) {
        call.status = GrpcStatus.valueOf(Integer.parseInt(value));
      } else if ("grpc-message".equals(name) && value != null) {
        call.statusMessage = value;
      }
    }
  }

  private static int readInteger(Buffer block, int[] cursor, int prefixBits) {
    int mask = (1 << prefixBits) - 1;
    int value = block.getUnsignedByte(cursor[0]++) & mask;
    if (value < mask) {
      return value;
    }
    int shift = 0;
    int next;
    do {
      next = block.getUnsignedByte(cursor[0]++);
      value += (next & 0x7f) << shift;
      shift += 7;
    } while ((next & 0x80) != 0);
    return value;
  }

  /** A string literal, or null when it is Huffman-coded. */
  private static String readString(Buffer block, int[] cursor) {
    boolean huffman = (block.getUnsignedByte(cursor[0]) & 0x80) != 0;
    int length = readInteger(block, cursor, 7);
    int start = cursor[0];
    cursor[0] += length;
    return huffman ? null : block.getString(start, start + length, "US-ASCII");
  }

  private void failAll(Throwable cause) {
    if (closedBy != null) {
      return;
    }
    closedBy = cause;
    if (settingsRead != null) {
      settingsRead.fail(cause);
      settingsRead = null;
    }
    for (Call call : calls.values()) {
      call.answer.tryFail(cause);
    }
    calls.clear();
    waiting.forEach(call -> call.answer.tryFail(cause));
    waiting.clear();
  }

  private static String path(ServiceMethod<?, ?> method) {
    return method.serviceName().pathOf(method.methodName());
  }


}
