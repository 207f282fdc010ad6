package io.sluice.limits;

import io.vertx.core.json.JsonObject;

import java.time.Instant;

/**
 * What operators see of the limits: the snapshot in force and the last update that was refused.
 *
 * @param lastRejection null until an update is refused
 * @param applied       updates applied since start (the first load included)
 * @param rejected      updates refused since start
 * @param publishedVersion the version of the published changes in force ({@code {sluice}:limits}, the one
 *                      {@code publish-limits} reports), the same on every instance that applied them; 0 for none.
 *                      {@code current.version()} counts this instance's own updates and differs between instances;
 *                      the digest is what says two instances enforce the same limits.
 */
public record LimitsStatus(Limits current, Instant appliedAt, Rejection lastRejection, long applied, long rejected,
                           long publishedVersion) {

  /**
   * The shape the admin HTTP API shows. The {@code limits} subcommand prints the same fields, built
   * from the gRPC answer it gets (LimitsCommands.Show): change both together.
   */
  public JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("version", current.version())
        .put("source", current.source())
        .put("digest", current.digest())
        .put("publishedVersion", publishedVersion)
        .put("appliedAt", appliedAt.toString())
        .put("applied", applied)
        .put("rejected", rejected)
        .put("limits", LimitsParser.toJson(current));
    if (lastRejection != null) {
      json.put("lastRejection", lastRejection.toJson(applied));
    }
    return json;
  }

  /**
   * Whether the last refusal no longer describes anything: an update was applied after it, or what
   * was refused was put right (a file back to the content in force).
   */
  public boolean lastRejectionSuperseded() {
    return lastRejection != null && lastRejection.supersededAfter(applied);
  }

  /**
   * An update refused whole, and why: of the limits, and of the Envoy rules alike.
   *
   * @param appliedBefore the updates applied when it was refused: counting, not clocks, tells what came later
   * @param cleared       what was refused was put right since
   */
  public record Rejection(String source, String reason, Instant at, long appliedBefore, boolean cleared) {

    /** Refused now, with {@code applied} updates applied so far. */
    public static Rejection now(String source, String reason, long applied) {
      return new Rejection(source, reason, Instant.now(), applied, false);
    }

    public Rejection clear() {
      return new Rejection(source, reason, at, appliedBefore, true);
    }

    /** Whether it no longer describes anything once {@code applied} updates were applied: a later one was, or it was put right. */
    public boolean supersededAfter(long applied) {
      return cleared || applied > appliedBefore;
    }

    /** The shape GET /admin/limits and GET /admin/envoy show. */
    public JsonObject toJson(long applied) {
      return new JsonObject()
          .put("source", source)
          .put("reason", reason)
          .put("at", at.toString())
          .put("superseded", supersededAfter(applied));
    }
  }
}
