package io.sluice.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

/** Free loopback ports for servers a test starts. */
public final class Ports {

  /**
   * Every port handed out in this JVM: the system may offer a port again once its probe socket is
   * closed, and two servers of one test given the same port collide (or, in one Vert.x, share it).
   */
  private static final Set<Integer> handedOut = new HashSet<>();

  private Ports() {
  }

  public static synchronized int free() {
    while (true) {
      try (ServerSocket socket = new ServerSocket(0)) {
        socket.setReuseAddress(true);
        if (handedOut.add(socket.getLocalPort())) {
          return socket.getLocalPort();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
