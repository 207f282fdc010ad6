package io.sluice.redis;

import io.netty.buffer.ByteBuf;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * A plain command whose reply completes a future: the connection's own handshake (AUTH, SCRIPT
 * LOAD) and probes. An error reply fails the future with a {@link RedisErrorException}.
 */
final class CommandCall extends RedisCall {

  private final Object[] parts;
  private final Promise<Object> reply = Promise.promise();

  CommandCall(Object... parts) {
    this.parts = parts;
  }

  Future<Object> reply() {
    return reply.future();
  }

  /** A plain command (a handshake, an ASKING) decides no check. */
  @Override
  int checks() {
    return 0;
  }

  @Override
  void encode(ByteBuf out) {
    Resp.arrayHeader(out, parts.length);
    for (Object part : parts) {
      Resp.bulk(out, part);
    }
  }

  @Override
  void onReply(Object value) {
    if (value instanceof RedisError error) {
      reply.tryFail(new RedisErrorException(error));
    } else {
      reply.tryComplete(value);
    }
  }

  @Override
  void onDeadline() {
    reply.tryFail(new java.util.concurrent.TimeoutException(parts[0] + " got no reply in time"));
  }

  @Override
  void onShed() {
    reply.tryFail(new java.util.concurrent.TimeoutException(parts[0] + " could not be written in time"));
  }

  @Override
  void onStalled() {
    reply.tryFail(new java.util.concurrent.TimeoutException("redis answered nothing to " + parts[0]));
  }

  @Override
  void onConnectionLost(Throwable cause) {
    reply.tryFail(cause);
  }

  /** An error reply, as a failure. */
  static final class RedisErrorException extends RuntimeException {
    RedisErrorException(RedisError error) {
      super(error.message(), null, false, false);
    }
  }
}
