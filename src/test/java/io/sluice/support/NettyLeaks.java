package io.sluice.support;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.List;

/**
 * Netty's leak detector, made to fail the suite. The tests run with {@code
 * -Dio.netty.leakDetection.level=paranoid} (pom.xml), so every buffer is tracked; a buffer dropped
 * unreleased is reported by Netty once the collector has found it, at a later allocation. After
 * each test class this collects, allocates to make Netty look, and fails when a leak was reported
 * since the class before: the report says where the buffer was last touched, which may be a test
 * class run earlier than the one that fails.
 */
public final class NettyLeaks implements AfterAllCallback {

  /** The appender logback-test.xml puts on Netty's leak detector. */
  public static final class Reports extends AppenderBase<ILoggingEvent> {
    private static final List<String> reported = new ArrayList<>();

    @Override
    protected void append(ILoggingEvent event) {
      if (event.getLevel().isGreaterOrEqual(Level.ERROR) && event.getFormattedMessage().contains("LEAK")) {
        synchronized (reported) {
          reported.add(event.getFormattedMessage());
        }
      }
    }

    static List<String> drain() {
      synchronized (reported) {
        List<String> all = new ArrayList<>(reported);
        reported.clear();
        return all;
      }
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    for (int round = 0; round < 2; round++) {
      System.gc();
      Thread.sleep(50);
      for (int i = 0; i < 100; i++) {
        ByteBufAllocator.DEFAULT.buffer(16).release();
        ByteBufAllocator.DEFAULT.directBuffer(16).release();
      }
    }
    List<String> leaks = Reports.drain();
    if (!leaks.isEmpty()) {
      throw new AssertionError("Netty reported " + leaks.size() + " leaked buffer(s) by the end of "
          + context.getDisplayName() + ":\n" + String.join("\n", leaks));
    }
  }
}
