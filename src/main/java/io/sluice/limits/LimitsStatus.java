package io.sluice.limits;

import io.vertx.core.json.JsonObject;

import java.time.Instant;

/**
 * What operators see of the limits: the snapshot in force and the last update that was refused.
 *
 * @param lastRejection null until an update is refused
 * @param applied       updates applied since start (the first load included)
 * @param rejected      updates refused since start
 */
public record LimitsStatus(Limits current, Instant appliedAt, Rejection lastRejection, long applied, long rejected) {

  /**
   * The shape the admin HTTP API shows. The {@code limits} subcommand prints the same fields, built
   * from the gRPC answer it gets (LimitsCommands.Show): change both together.
   */
  public JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("version", current.version())
        .put("source", current.source())
        .put("digest", current.digest())
        .put("appliedAt", appliedAt.toString())
        .put("applied", applied)
        .put("rejected", rejected)
        .put("limits", LimitsParser.toJson(current));
    if (lastRejection != null) {
      json.put("lastRejection", new JsonObject()
          .put("source", lastRejection.source())
          .put("reason", lastRejection.reason())
          .put("at", lastRejection.at().toString())
          .put("superseded", lastRejectionSuperseded()));
    }
    return json;
  }

  /** Whether an update was applied after the last refusal, so that the refusal no longer describes the limits in force. */
  public boolean lastRejectionSuperseded() {
    return lastRejection != null && applied > lastRejection.appliedBefore();
  }

  /**
   * An update refused whole, and why.
   *
   * @param appliedBefore the updates applied when it was refused: counting, not clocks, tells what came later
   */
  public record Rejection(String source, String reason, Instant at, long appliedBefore) {
  }
}
