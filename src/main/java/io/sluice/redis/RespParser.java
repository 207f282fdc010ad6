package io.sluice.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Reads RESP2 replies from the chunks a socket delivers, which may end anywhere inside a reply.
 * Each reply becomes a Java value: a simple string a {@link String}, an error a {@link RedisError},
 * an integer a {@link Long}, a bulk string a {@link String} (UTF-8) or null, an array an
 * {@code Object[]} or null.
 *
 * <p>A reply is parsed whole or not at all: an incomplete one is read again, from its start, once
 * more bytes came. Check replies are a hundred bytes or so, so that costs nothing.
 */
final class RespParser {

  /** A reply that does not follow RESP: the connection cannot be trusted after it. */
  static final class ProtocolException extends RuntimeException {
    ProtocolException(String message) {
      super(message, null, false, false);
    }
  }

  /** A protection against a corrupt length turning into a huge allocation. */
  private static final int MAX_BULK_BYTES = 512 * 1024 * 1024;
  private static final Object INCOMPLETE = new Object();

  private CompositeByteBuf pending;

  /** Parses every complete reply in what arrived so far, handing each to {@code replies}; keeps the rest. */
  void feed(ByteBuf chunk, Consumer<Object> replies) {
    ByteBuf in;
    if (pending == null) {
      in = chunk;
    } else {
      pending.addComponent(true, chunk.retain());
      in = pending;
    }
    while (in.isReadable()) {
      int start = in.readerIndex();
      Object reply = read(in);
      if (reply == INCOMPLETE) {
        in.readerIndex(start);
        break;
      }
      replies.accept(reply);
    }
    keepRest(in);
  }

  private void keepRest(ByteBuf in) {
    if (!in.isReadable()) {
      release();
      return;
    }
    if (in != pending) {
      release();
      pending = ByteBufAllocator.DEFAULT.compositeBuffer();
      pending.addComponent(true, in.retainedSlice());
    } else {
      pending.discardReadComponents();
    }
  }

  /** Drops what was buffered; for a connection that is gone. */
  void release() {
    if (pending != null) {
      pending.release();
      pending = null;
    }
  }

  private static Object read(ByteBuf in) {
    if (!in.isReadable()) {
      return INCOMPLETE;
    }
    byte type = in.readByte();
    switch (type) {
      case '+': {
        int end = lineEnd(in);
        return end < 0 ? INCOMPLETE : line(in, end);
      }
      case '-': {
        int end = lineEnd(in);
        return end < 0 ? INCOMPLETE : new RedisError(line(in, end));
      }
      case ':': {
        int end = lineEnd(in);
        return end < 0 ? INCOMPLETE : number(in, end);
      }
      case '$': {
        int end = lineEnd(in);
        if (end < 0) {
          return INCOMPLETE;
        }
        long length = number(in, end);
        if (length < 0) {
          return null;
        }
        if (length > MAX_BULK_BYTES) {
          throw new ProtocolException("bulk string of " + length + " bytes");
        }
        if (in.readableBytes() < length + 2) {
          return INCOMPLETE;
        }
        String value = in.toString(in.readerIndex(), (int) length, StandardCharsets.UTF_8);
        in.skipBytes((int) length);
        expectCrlf(in);
        return value;
      }
      case '*': {
        int end = lineEnd(in);
        if (end < 0) {
          return INCOMPLETE;
        }
        long count = number(in, end);
        if (count < 0) {
          return null;
        }
        if (count > in.readableBytes()) {
          // Each element needs at least one byte: more elements than bytes means more is to come.
          return INCOMPLETE;
        }
        Object[] elements = new Object[(int) count];
        for (int i = 0; i < elements.length; i++) {
          Object element = read(in);
          if (element == INCOMPLETE) {
            return INCOMPLETE;
          }
          elements[i] = element;
        }
        return elements;
      }
      default:
        throw new ProtocolException("unexpected reply type byte 0x" + Integer.toHexString(type & 0xff));
    }
  }

  /** The index of the '\r' ending the current line, or -1 when the line is not complete yet. */
  private static int lineEnd(ByteBuf in) {
    int cr = in.indexOf(in.readerIndex(), in.writerIndex(), (byte) '\r');
    return cr < 0 || cr + 1 >= in.writerIndex() ? -1 : cr;
  }

  private static String line(ByteBuf in, int end) {
    String value = in.toString(in.readerIndex(), end - in.readerIndex(), StandardCharsets.UTF_8);
    in.readerIndex(end);
    expectCrlf(in);
    return value;
  }

  private static long number(ByteBuf in, int end) {
    boolean negative = false;
    long value = 0;
    int i = in.readerIndex();
    if (in.getByte(i) == '-') {
      negative = true;
      i++;
    }
    if (i == end) {
      throw new ProtocolException("empty number");
    }
    for (; i < end; i++) {
      byte digit = in.getByte(i);
      if (digit < '0' || digit > '9') {
        throw new ProtocolException("not a number: byte 0x" + Integer.toHexString(digit & 0xff));
      }
      value = value * 10 + (digit - '0');
    }
    in.readerIndex(end);
    expectCrlf(in);
    return negative ? -value : value;
  }

  private static void expectCrlf(ByteBuf in) {
    if (in.readByte() != '\r' || in.readByte() != '\n') {
      throw new ProtocolException("a reply line does not end with CRLF");
    }
  }
}
