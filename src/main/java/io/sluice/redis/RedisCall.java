package io.sluice.redis;

import io.netty.buffer.ByteBuf;

/**
 * One command on a {@link PipelinedConnection} and what becomes of it. A call is answered exactly
 * once: by its reply, by the caller's deadline, by being shed before it was written, or by its
 * connection stalling or breaking. A reply that comes after another answer is still delivered
 * ({@link #late}), so that what the command did in Redis is not lost.
 *
 * <p>Two clocks, kept apart on purpose: time a call spends in Sluice before it is written is
 * Sluice's own load, and never counts against Redis; only a written call left unanswered for the
 * Redis timeout, while the event loop was free to read its reply, is evidence that Redis does not answer.
 */
abstract class RedisCall {

  /** When the caller must have an answer (System.nanoTime), written or not; {@link Long#MAX_VALUE} for none. */
  long deadlineNanos = Long.MAX_VALUE;
  /** Not written by then, it is dropped unwritten ({@link #onShed}): waiting longer in Sluice helps no one. */
  long sendByNanos = Long.MAX_VALUE;
  /** Written to the socket: from now on Redis may run it, whatever becomes of the connection. */
  boolean sent;
  /** When it was written: its Redis timeout runs from here. */
  long writtenNanos;
  /** Answered already (deadline, stall): a reply now is late. */
  boolean late;

  /** The checks this command decides (a grouped check script decides several): what an idle Redis waits for. */
  int checks() {
    return 1;
  }

  /** When it must leave Sluice or be dropped: the earlier of the two limits. */
  final long unsentLimitNanos() {
    return Math.min(deadlineNanos, sendByNanos);
  }

  /** Appends the command to the buffer of one write. */
  abstract void encode(ByteBuf out);

  /** The reply: a value, or a {@link RedisError}; {@link #late} tells whether something else answered first. */
  abstract void onReply(Object reply);

  /** Written, and the caller's deadline passed without a reply; a late reply may follow. */
  abstract void onDeadline();

  /** Never written: it waited in Sluice past {@link #unsentLimitNanos()}. Redis never sees it. */
  abstract void onShed();

  /** The oldest written command waited the Redis timeout unanswered while the event loop ran: Redis does not answer. */
  abstract void onStalled();

  /** The connection broke. Not sent: Redis never saw it. Sent: whether Redis ran it is unknown. */
  abstract void onConnectionLost(Throwable cause);
}
