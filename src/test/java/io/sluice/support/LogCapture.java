package io.sluice.support;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.slf4j.LoggerFactory;

import java.util.List;

/** What a logger logs while a test runs, read safely while the instance keeps logging; close it to stop. */
public final class LogCapture implements AutoCloseable {

  private final Logger logger;
  private final Level levelBefore;
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

  private LogCapture(Logger logger, Level level) {
    this.logger = logger;
    this.levelBefore = logger.getLevel();
    if (level != null) {
      logger.setLevel(level);
    }
    appender.start();
    logger.addAppender(appender);
  }

  /** Everything logged, by every logger. */
  public static LogCapture root() {
    return new LogCapture((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME), null);
  }

  /** What {@code type}'s logger logs at its level. */
  public static LogCapture of(Class<?> type) {
    return new LogCapture((Logger) LoggerFactory.getLogger(type), null);
  }

  /** What {@code type}'s logger logs, down to DEBUG for as long as this is open. */
  public static LogCapture debugOf(Class<?> type) {
    return new LogCapture((Logger) LoggerFactory.getLogger(type), Level.DEBUG);
  }

  /** The events so far. */
  public List<ILoggingEvent> events() {
    synchronized (appender) {
      return List.copyOf(appender.list);
    }
  }

  /** Whether a line so far contains {@code fragment}. */
  public boolean said(String fragment) {
    return events().stream().anyMatch(event -> event.getFormattedMessage().contains(fragment));
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
    logger.setLevel(levelBefore);
  }
}
