package io.sluice.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RespParserTest {

  private static final String CHECK_REPLY = "*9\r\n:1\r\n:4\r\n:0\r\n:5000\r\n:0\r\n:0\r\n$0\r\n\r\n$0\r\n\r\n:0\r\n";

  @Test
  void readsEveryReplyType() {
    List<Object> replies = parse("+OK\r\n-WRONGTYPE wrong kind\r\n:-42\r\n$4\r\nhé!\r\n$-1\r\n*-1\r\n*2\r\n:1\r\n*1\r\n$1\r\nx\r\n");
    assertEquals("OK", replies.get(0));
    assertEquals(new RedisError("WRONGTYPE wrong kind"), replies.get(1));
    assertEquals(-42L, replies.get(2));
    assertEquals("hé!", replies.get(3), "bulk strings are UTF-8 and counted in bytes");
    assertNull(replies.get(4));
    assertNull(replies.get(5));
    assertArrayEquals(new Object[] {1L, new Object[] {"x"}}, (Object[]) replies.get(6));
  }

  @Test
  void aReplySplitAtEveryByteComesOutWholeAndOnce() {
    byte[] wire = (CHECK_REPLY + CHECK_REPLY).getBytes(StandardCharsets.UTF_8);
    for (int split = 1; split < wire.length; split++) {
      RespParser parser = new RespParser();
      List<Object> replies = new ArrayList<>();
      parser.feed(Unpooled.wrappedBuffer(wire, 0, split), replies::add);
      parser.feed(Unpooled.wrappedBuffer(wire, split, wire.length - split), replies::add);
      assertEquals(2, replies.size(), "split at " + split);
      assertEquals(5000L, ((Object[]) replies.get(1))[3]);
      parser.release();
    }
  }

  @Test
  void aReplyDeliveredOneByteAtATimeComesOutWhole() {
    RespParser parser = new RespParser();
    List<Object> replies = new ArrayList<>();
    for (byte b : CHECK_REPLY.getBytes(StandardCharsets.UTF_8)) {
      parser.feed(Unpooled.wrappedBuffer(new byte[] {b}), replies::add);
    }
    assertEquals(1, replies.size());
    assertEquals(9, ((Object[]) replies.get(0)).length);
  }

  @Test
  void somethingThatIsNotRespIsAProtocolError() {
    assertThrows(RespParser.ProtocolException.class, () -> parse("HTTP/1.1 400 Bad Request\r\n"));
    assertThrows(RespParser.ProtocolException.class, () -> parse(":12x\r\n"));
  }

  @Test
  void commandsAreArraysOfBulkStrings() {
    ByteBuf out = Unpooled.buffer();
    Resp.arrayHeader(out, 5);
    Resp.bulk(out, "EVALSHA");
    Resp.bulk(out, (Object) 3L);
    Resp.bulk(out, (Object) 0.2);
    Resp.bulk(out, (Object) 10.0);
    Resp.bulk(out, "{é}");
    assertThat(out.toString(StandardCharsets.UTF_8))
        .isEqualTo("*5\r\n$7\r\nEVALSHA\r\n$1\r\n3\r\n$3\r\n0.2\r\n$2\r\n10\r\n$4\r\n{é}\r\n");
  }

  /** vertx-redis-client's requests (admin, ops) spell a script's arguments as the check path writes them. */
  @Test
  void bothRedisClientsSpellArgumentsAlike() {
    for (Object value : new Object[] {"{u}:bucket", 3L, 7, 0.2, 10.0, -1.5e-7, 123456789012L}) {
      ByteBuf out = Unpooled.buffer();
      Resp.bulk(out, value);
      String written = out.toString(StandardCharsets.UTF_8);
      String text = Resp.text(value);
      assertEquals("$" + text.getBytes(StandardCharsets.UTF_8).length + "\r\n" + text + "\r\n", written, "for " + value);
    }
    assertThrows(IllegalArgumentException.class, () -> Resp.text(new Object()));
  }

  private static List<Object> parse(String wire) {
    RespParser parser = new RespParser();
    List<Object> replies = new ArrayList<>();
    parser.feed(Unpooled.wrappedBuffer(wire.getBytes(StandardCharsets.UTF_8)), replies::add);
    parser.release();
    return replies;
  }
}
