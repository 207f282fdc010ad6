package io.sluice.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

import java.nio.charset.StandardCharsets;

/**
 * The RESP2 wire format as the check path needs it: commands go out as arrays of bulk strings,
 * written straight into the buffer of one flush; replies come back as plain Java values
 * ({@link RespParser}). Doubles go as Java's shortest exact decimal, which Lua's {@code tonumber}
 * reads back to the same double.
 */
final class Resp {

  private static final byte[] CRLF = {'\r', '\n'};

  private Resp() {
  }

  /** {@code *<count>\r\n}: the start of a command of {@code count} parts. */
  static void arrayHeader(ByteBuf out, int count) {
    out.writeByte('*');
    writeDecimal(out, count);
    out.writeBytes(CRLF);
  }

  static void bulk(ByteBuf out, String value) {
    out.writeByte('$');
    writeDecimal(out, ByteBufUtil.utf8Bytes(value));
    out.writeBytes(CRLF);
    ByteBufUtil.reserveAndWriteUtf8(out, value, value.length() * 3);
    out.writeBytes(CRLF);
  }

  static void bulk(ByteBuf out, byte[] value) {
    out.writeByte('$');
    writeDecimal(out, value.length);
    out.writeBytes(CRLF);
    out.writeBytes(value);
    out.writeBytes(CRLF);
  }

  static void bulk(ByteBuf out, long value) {
    if (value >= 0 && value < 10) {
      // The common small numbers (counts of keys, costs) without a digit count.
      out.writeByte('$').writeByte('1').writeBytes(CRLF).writeByte('0' + (int) value).writeBytes(CRLF);
      return;
    }
    bulk(out, Long.toString(value));
  }

  static void bulk(ByteBuf out, double value) {
    if (isWhole(value)) {
      bulk(out, (long) value);
    } else {
      bulk(out, Double.toString(value));
    }
  }

  private static boolean isWhole(double value) {
    return value == Math.rint(value) && Math.abs(value) < 1e15;
  }

  /**
   * A value of a script's ARGV or KEYS as the text {@link #bulk(ByteBuf, Object)} writes: the one
   * spelling of arguments for both Redis clients (vertx-redis-client's requests take it as is).
   */
  static String text(Object value) {
    if (value instanceof String s) {
      return s;
    } else if (value instanceof Long || value instanceof Integer) {
      return value.toString();
    } else if (value instanceof Double d) {
      return isWhole(d) ? Long.toString(d.longValue()) : Double.toString(d);
    }
    throw new IllegalArgumentException("cannot send " + (value == null ? "null" : value.getClass().getSimpleName()) + " to redis");
  }

  /** A value of a script's ARGV or KEYS: a String, a whole number, a double, or raw bytes. */
  static void bulk(ByteBuf out, Object value) {
    if (value instanceof String s) {
      bulk(out, s);
    } else if (value instanceof Long l) {
      bulk(out, l.longValue());
    } else if (value instanceof Integer i) {
      bulk(out, i.longValue());
    } else if (value instanceof Double d) {
      bulk(out, d.doubleValue());
    } else if (value instanceof byte[] bytes) {
      bulk(out, bytes);
    } else {
      throw new IllegalArgumentException("cannot send " + value.getClass().getSimpleName() + " to redis");
    }
  }

  private static void writeDecimal(ByteBuf out, long value) {
    if (value >= 0 && value < 10) {
      out.writeByte('0' + (int) value);
    } else {
      out.writeCharSequence(Long.toString(value), StandardCharsets.US_ASCII);
    }
  }
}
