package io.sluice.redis;

import io.netty.buffer.ByteBuf;

/**
 * One command on a {@link PipelinedConnection} and what becomes of it. A call is answered exactly
 * once, by its reply or by its deadline; a reply that comes after the deadline is still delivered
 * ({@link #late}), so that what the command did in Redis is not lost.
 */
abstract class RedisCall {

  /** When the caller must have an answer (System.nanoTime); {@link Long#MAX_VALUE} for none. */
  long deadlineNanos = Long.MAX_VALUE;
  /** Written to the socket: from now on Redis may run it, whatever becomes of the connection. */
  boolean sent;
  /** Answered by its deadline already: a reply now is late. */
  boolean late;

  /** The checks this command decides (a grouped check script decides several): what an idle Redis waits for. */
  int checks() {
    return 1;
  }

  /** Appends the command to the buffer of one write. */
  abstract void encode(ByteBuf out);

  /** The reply: a value, or a {@link RedisError}; {@link #late} tells whether the deadline answered first. */
  abstract void onReply(Object reply);

  /** The deadline passed without a reply. Not sent: it never will be. Sent: a late reply may follow. */
  abstract void onDeadline();

  /** The connection broke. Not sent: Redis never saw it. Sent: whether Redis ran it is unknown. */
  abstract void onConnectionLost(Throwable cause);
}
