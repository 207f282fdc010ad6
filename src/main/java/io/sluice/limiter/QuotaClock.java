package io.sluice.limiter;

import java.util.function.LongSupplier;

/**
 * The calendar quotas' clock: this instance's wall clock, which says where the periods' boundaries
 * are (Redis's clock says which period a check is in), and an offset that tests add to both, so that
 * a month's end is reached without waiting for it. The service has no setting for the offset: it is
 * 0 in every instance but a test's.
 */
public record QuotaClock(LongSupplier epochMillis, LongSupplier offsetMs) {

  public static final QuotaClock SYSTEM = new QuotaClock(System::currentTimeMillis, () -> 0);

  /** Now, as the quotas count it. */
  long nowMs() {
    return epochMillis.getAsLong() + offsetMs.getAsLong();
  }
}
