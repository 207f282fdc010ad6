package io.sluice.limits;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The limits in force in this process: one snapshot, replaced whole. Every verticle reads it;
 * a check calls {@link #get()} once and decides with that snapshot only. Only the limits verticle
 * replaces it.
 */
public final class LiveLimits implements Supplier<Limits> {

  private final AtomicReference<Limits> current;
  private final AtomicReference<LimitsStatus> status;
  /** The limits file as the limits verticle last read it: what a change published from this instance is checked on. */
  private final AtomicReference<io.vertx.core.json.JsonObject> file = new AtomicReference<>(new io.vertx.core.json.JsonObject());

  public LiveLimits(Limits initial) {
    this.current = new AtomicReference<>(initial);
    this.status = new AtomicReference<>(new LimitsStatus(initial, Instant.now(), null, 1, 0, 0));
  }

  @Override
  public Limits get() {
    return current.get();
  }

  public LimitsStatus status() {
    return status.get();
  }

  /** @param publishedVersion the version of the published changes in {@code next} ({@code {sluice}:limits}); 0 for none */
  public void replace(Limits next, long publishedVersion) {
    current.set(next);
    status.updateAndGet(s -> new LimitsStatus(next, Instant.now(), s.lastRejection(), s.applied() + 1, s.rejected(), publishedVersion));
  }

  /** The limits file in force here, as a document (a copy). */
  public io.vertx.core.json.JsonObject file() {
    return file.get().copy();
  }

  void fileIs(io.vertx.core.json.JsonObject document) {
    file.set(document.copy());
  }

  public void reject(String source, String reason) {
    status.updateAndGet(s -> new LimitsStatus(s.current(), s.appliedAt(),
        LimitsStatus.Rejection.now(source, reason, s.applied()), s.applied(), s.rejected() + 1, s.publishedVersion()));
  }

  /** What was refused is valid again (the file was put right): the refusal no longer describes anything. */
  public void clearRejection() {
    status.updateAndGet(s -> s.lastRejection() == null ? s : new LimitsStatus(s.current(), s.appliedAt(),
        s.lastRejection().clear(), s.applied(), s.rejected(), s.publishedVersion()));
  }
}
