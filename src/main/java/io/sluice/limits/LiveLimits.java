package io.sluice.limits;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The limits in force in this process: one snapshot, replaced whole. Every verticle reads it;
 * a check calls {@link #get()} once and decides with that snapshot only.
 */
public final class LiveLimits implements Supplier<Limits> {

  private final AtomicReference<Limits> current;

  public LiveLimits(Limits initial) {
    this.current = new AtomicReference<>(initial);
  }

  @Override
  public Limits get() {
    return current.get();
  }

  public void replace(Limits next) {
    current.set(next);
  }
}
