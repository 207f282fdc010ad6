package io.sluice.limits;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.temporal.TemporalAdjusters;
import java.util.Locale;

/**
 * A rule's calendar quota: at most {@code limit} tokens per day, week (from Monday) or month of the
 * calendar of {@code zone}, counted on Redis's clock and reset at the period's first instant there
 * (a day of 23 or 25 hours across a DST change, months of their own lengths).
 *
 * @param countsTowardBans whether a refusal for the quota counts toward the rule's abuse policy
 *                         (by default it does not: using up a plan's allowance is no abuse)
 */
public record QuotaPolicy(long limit, Period period, ZoneId zone, boolean countsTowardBans) {

  public static final long MAX_LIMIT = 1_000_000_000_000L;

  public enum Period {
    DAY, WEEK, MONTH;

    public String wireName() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Period parse(Object value) {
      for (Period period : values()) {
        if (period.wireName().equals(value)) {
          return period;
        }
      }
      return null;
    }

    LocalDate startOf(LocalDate day) {
      return switch (this) {
        case DAY -> day;
        case WEEK -> day.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
        case MONTH -> day.withDayOfMonth(1);
      };
    }

    LocalDate next(LocalDate start) {
      return switch (this) {
        case DAY -> start.plusDays(1);
        case WEEK -> start.plusWeeks(1);
        case MONTH -> start.plusMonths(1);
      };
    }

    LocalDate previous(LocalDate start) {
      return switch (this) {
        case DAY -> start.minusDays(1);
        case WEEK -> start.minusWeeks(1);
        case MONTH -> start.minusMonths(1);
      };
    }
  }

  /**
   * The first instants (epoch ms) of the period before the one holding {@code epochMs}, of that
   * one, and of the two after: the script picks among them by Redis's clock, which may be a little
   * before or after this instance's.
   */
  public long[] periodsAround(long epochMs) {
    LocalDate current = period.startOf(Instant.ofEpochMilli(epochMs).atZone(zone).toLocalDate());
    LocalDate next = period.next(current);
    return new long[] {startMs(period.previous(current)), startMs(current), startMs(next), startMs(period.next(next))};
  }

  /** A day's first instant in the zone: midnight, or the first instant after a DST gap that skips it. */
  private long startMs(LocalDate day) {
    return day.atStartOfDay(zone).toInstant().toEpochMilli();
  }
}
