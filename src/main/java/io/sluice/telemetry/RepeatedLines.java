package io.sluice.telemetry;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sluice limits rates, its own logs included: a line of one kind (one logger, one message
 * pattern) is written at most {@link #LINES_PER_WINDOW} times per {@link #WINDOW_NANOS}; the rest
 * are counted, and the first line of the kind after the window says how many were left out. So a
 * client that can make a warning, an error or a ban happen cannot fill the disk or drown the lines
 * that matter: 5,079 stack traces of one Vert.x error in 10 s become a few lines and a count.
 *
 * <p>Kinds are warnings and errors of any logger, and the bans and shadow would-blocks (INFO) that
 * any caller can trigger. Installed in logback.xml, so every process of the jar has it.
 */
public final class RepeatedLines extends TurboFilter {

  static final long WINDOW_NANOS = 10_000_000_000L;
  static final int LINES_PER_WINDOW = 5;
  /** Distinct kinds tracked at once; beyond it, further new kinds share one budget. */
  private static final int MAX_KINDS = 4096;
  private static final String OTHER_KINDS = "(other kinds)";
  /** Where the counts of lines left out are written; never limited itself. */
  static final String SUMMARY_LOGGER = "sluice.logs";

  private static final AtomicLong SUPPRESSED = new AtomicLong();

  private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();
  private volatile long lastSweepNanos;

  /** Lines left out since start, by every instance of the filter: {@code sluice_log_lines_suppressed_total}. */
  public static long suppressed() {
    return SUPPRESSED.get();
  }

  private static final class Window {
    long startNanos;
    int written;
    long leftOut;

    Window(long startNanos) {
      this.startNanos = startNanos;
    }
  }

  @Override
  public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (level == null || format == null || !limited(logger.getName(), level) || !logger.isEnabledFor(level)) {
      return FilterReply.NEUTRAL;
    }
    String kind = logger.getName() + ' ' + format;
    Window window = windows.get(kind);
    if (window == null) {
      long now = System.nanoTime();
      if (windows.size() >= MAX_KINDS && now - lastSweepNanos > 1_000_000_000L) {
        // Kinds whose window ended hold nothing worth keeping: dropped (once a second at most) before new
        // kinds must share a budget.
        lastSweepNanos = now;
        windows.values().removeIf(old -> {
          synchronized (old) {
            return now - old.startNanos >= WINDOW_NANOS && old.leftOut == 0;
          }
        });
      }
      window = windows.computeIfAbsent(windows.size() < MAX_KINDS ? kind : OTHER_KINDS, k -> new Window(System.nanoTime()));
    }
    long leftOutBefore;
    synchronized (window) {
      long now = System.nanoTime();
      if (now - window.startNanos >= WINDOW_NANOS) {
        leftOutBefore = window.leftOut;
        window.startNanos = now;
        window.written = 0;
        window.leftOut = 0;
      } else {
        leftOutBefore = 0;
      }
      if (window.written >= LINES_PER_WINDOW) {
        window.leftOut++;
        SUPPRESSED.incrementAndGet();
        return FilterReply.DENY;
      }
      window.written++;
    }
    if (leftOutBefore > 0) {
      LoggerFactory.getLogger(SUMMARY_LOGGER).warn("{} more lines like the next were left out in the last {} s (logger {}): \"{}\"",
          leftOutBefore, WINDOW_NANOS / 1_000_000_000L, logger.getName(), format);
    }
    return FilterReply.NEUTRAL;
  }

  private static boolean limited(String logger, Level level) {
    if (SUMMARY_LOGGER.equals(logger)) {
      return false;
    }
    return level.isGreaterOrEqual(Level.WARN) || "sluice.bans".equals(logger) || "sluice.shadow".equals(logger);
  }
}
