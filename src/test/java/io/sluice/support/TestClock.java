package io.sluice.support;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The JVM's clock, moved forward when a test says so: expiry and refill are seen without waiting.
 * It starts an hour ahead, so that anything written on the JVM's clock instead of this one looks
 * an hour old at once, and a test of it fails.
 */
public final class TestClock implements LongSupplier {

  private final AtomicLong aheadNanos = new AtomicLong(Duration.ofHours(1).toNanos());

  @Override
  public long getAsLong() {
    return System.nanoTime() + aheadNanos.get();
  }

  public void advance(Duration by) {
    aheadNanos.addAndGet(by.toNanos());
  }
}
