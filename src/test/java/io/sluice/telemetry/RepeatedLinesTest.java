package io.sluice.telemetry;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.core.spi.FilterReply;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RepeatedLinesTest {

  private final LoggerContext context = new LoggerContext();
  private final RepeatedLines filter = new RepeatedLines();

  @Test
  void aKindOfWarningIsWrittenFiveTimesPerWindowAndTheRestCounted() {
    Logger logger = context.getLogger("io.netty.Something");
    long before = RepeatedLines.suppressed();
    int written = 0;
    for (int i = 0; i < 1000; i++) {
      if (filter.decide(null, logger, Level.ERROR, "Caught Throwable from listener {}", new Object[] {i}, null) != FilterReply.DENY) {
        written++;
      }
    }
    assertEquals(RepeatedLines.LINES_PER_WINDOW, written);
    assertEquals(1000 - RepeatedLines.LINES_PER_WINDOW, RepeatedLines.suppressed() - before);
  }

  @Test
  void kindsAreCountedApartAndOrdinaryInfoIsNeverLimited() {
    Logger bans = context.getLogger("sluice.bans");
    Logger other = context.getLogger("io.sluice.Main");
    int bansWritten = 0;
    int infoWritten = 0;
    for (int i = 0; i < 100; i++) {
      bansWritten += filter.decide(null, bans, Level.INFO, "banned user={}", new Object[] {i}, null) == FilterReply.DENY ? 0 : 1;
      infoWritten += filter.decide(null, other, Level.INFO, "started", null, null) == FilterReply.DENY ? 0 : 1;
    }
    assertEquals(RepeatedLines.LINES_PER_WINDOW, bansWritten, "bans any caller can trigger are limited");
    assertEquals(100, infoWritten);
  }
}
