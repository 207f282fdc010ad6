package io.sluice.envoy;

import io.sluice.limits.LimitsStatus.Rejection;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/** The Envoy rules in force, swapped whole, and what operators see of them (GET /admin/envoy). */
public final class LiveEnvoyRules implements Supplier<EnvoyRules> {

  /** @param lastRejection the last refused set and why ({@link Rejection}, as the limits keep theirs); null until one was */
  private record Status(EnvoyRules current, String source, Instant appliedAt, long applied, long rejected, Rejection lastRejection) {
  }

  private final AtomicReference<Status> status;

  public LiveEnvoyRules(EnvoyRules initial, String source) {
    status = new AtomicReference<>(new Status(initial, source, Instant.now(), 1, 0, null));
  }

  @Override
  public EnvoyRules get() {
    return status.get().current();
  }

  public void replace(EnvoyRules next) {
    status.updateAndGet(s -> new Status(next, s.source(), Instant.now(), s.applied() + 1, s.rejected(), s.lastRejection()));
  }

  public void reject(String reason) {
    status.updateAndGet(s -> new Status(s.current(), s.source(), s.appliedAt(), s.applied(), s.rejected() + 1,
        Rejection.now(s.source(), reason, s.applied())));
  }

  /**
   * The files read well again: a refusal still outstanding no longer describes them.
   *
   * @return whether there was one, so that the change is said once
   */
  public boolean clearRejection() {
    Status before = status.getAndUpdate(s -> s.lastRejection() == null || s.lastRejection().cleared() ? s
        : new Status(s.current(), s.source(), s.appliedAt(), s.applied(), s.rejected(), s.lastRejection().clear()));
    return before.lastRejection() != null && !before.lastRejection().cleared();
  }

  public long applied() {
    return status.get().applied();
  }

  public long rejected() {
    return status.get().rejected();
  }

  public JsonObject toJson() {
    Status s = status.get();
    JsonObject json = new JsonObject()
        .put("source", s.source())
        .put("digest", s.current().digest())
        .put("domains", new JsonArray(new TreeSet<>(s.current().domains().keySet()).stream().toList()))
        .put("appliedAt", s.appliedAt().toString())
        .put("applied", s.applied())
        .put("rejected", s.rejected());
    if (s.lastRejection() != null) {
      json.put("lastRejection", s.lastRejection().toJson(s.applied()));
    }
    return json;
  }
}
