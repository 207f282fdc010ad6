package io.sluice.telemetry;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import io.sluice.config.Settings;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

/**
 * Applies the log settings once they are known: logback.xml starts with human-readable lines, and
 * {@code logFormat: json} swaps the console appender for one JSON object per line (for containers).
 * Logs go to stderr, so that what a subcommand prints on stdout stays clean for scripts.
 */
public final class Logs {

  /** Every check, when enabled (setting logRequests); off by default. */
  public static final String REQUEST_LOGGER = "sluice.requests";

  private Logs() {
  }

  public static void configure(Settings.Ops ops) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    context.getLogger(REQUEST_LOGGER).setLevel(ops.logRequests() ? Level.DEBUG : Level.INFO);
    if (!"json".equals(ops.logFormat())) {
      return;
    }
    LogstashEncoder encoder = new LogstashEncoder();
    encoder.setContext(context);
    encoder.start();
    ConsoleAppender<ILoggingEvent> json = new ConsoleAppender<>();
    json.setName("json");
    json.setContext(context);
    json.setEncoder(encoder);
    json.setTarget("System.err");
    json.start();
    ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.detachAndStopAllAppenders();
    root.addAppender(json);
  }
}
