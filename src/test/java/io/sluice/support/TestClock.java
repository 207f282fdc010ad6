package io.sluice.support;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/** The JVM's clock, moved forward when a test says so: expiry and refill are seen without waiting. */
public final class TestClock implements LongSupplier {

  private final AtomicLong aheadNanos = new AtomicLong();

  @Override
  public long getAsLong() {
    return System.nanoTime() + aheadNanos.get();
  }

  public void advance(Duration by) {
    aheadNanos.addAndGet(by.toNanos());
  }
}
