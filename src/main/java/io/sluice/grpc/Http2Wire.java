package io.sluice.grpc;

import io.vertx.core.buffer.Buffer;

import java.nio.charset.StandardCharsets;

/**
 * HTTP/2 as the instance's own raw clients write it (the load generator's {@code FramesClient}, the
 * warm-up): frame types and flags, the client preface, frame headers, and a gRPC request's header
 * block that needs no HPACK table, every literal never indexed and none Huffman-coded, so that one
 * block serves every stream of a connection.
 */
public final class Http2Wire {

  public static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  public static final int FRAME_HEADER_BYTES = 9;
  public static final int DATA = 0;
  public static final int HEADERS = 1;
  public static final int RST_STREAM = 3;
  public static final int SETTINGS = 4;
  public static final int PING = 6;
  public static final int GOAWAY = 7;
  public static final int WINDOW_UPDATE = 8;
  public static final int END_STREAM = 0x1;
  public static final int ACK = 0x1;
  public static final int END_HEADERS = 0x4;
  public static final int PADDED = 0x8;
  public static final int PRIORITY = 0x20;

  private Http2Wire() {
  }

  public static void frameHeader(Buffer buffer, int length, int type, int flags, int streamId) {
    buffer.appendMedium(length).appendByte((byte) type).appendByte((byte) flags).appendInt(streamId);
  }

  /**
   * A gRPC request's header block: {@code :method POST} and {@code :scheme http} from the static
   * table, the rest literals never added to a table; {@code extra} are name, value pairs.
   */
  public static Buffer requestHeaders(String path, String authority, String... extra) {
    Buffer block = Buffer.buffer(128);
    block.appendByte((byte) 0x83).appendByte((byte) 0x86);
    literal(block, 4, path);
    literal(block, 1, authority);
    // content-type, static entry 31: a 4-bit prefix of 15, then 16.
    block.appendByte((byte) 0x0f).appendByte((byte) (31 - 15));
    string(block, "application/grpc");
    newName(block, "te", "trailers");
    for (int i = 0; i + 1 < extra.length; i += 2) {
      newName(block, extra[i], extra[i + 1]);
    }
    return block;
  }

  /** A literal without indexing whose name is static-table entry {@code nameIndex} (below 15). */
  private static void literal(Buffer block, int nameIndex, String value) {
    block.appendByte((byte) nameIndex);
    string(block, value);
  }

  private static void newName(Buffer block, String name, String value) {
    block.appendByte((byte) 0);
    string(block, name);
    string(block, value);
  }

  private static void string(Buffer block, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
    if (bytes.length >= 127) {
      throw new IllegalArgumentException("header field too long for a one-byte length: " + value);
    }
    block.appendByte((byte) bytes.length).appendBytes(bytes);
  }
}
